//! Domain rows written beside journal transactions in the same database transaction: organisations,
//! programmes, contribution batches with their lines, receipts and reversals, and accounts opened on
//! the way. Each is inserted by the writer only when its request commits (`insert`).

pub(crate) mod insert;

use ledger_core::conditions::FactStatus;
use ledger_core::contribution::{BatchLine, LineKind};
use ledger_core::organisation::{AllocationPolicy, ConditionRule, Organisation, Programme};
use ledger_core::{Account, AccountId, FundDate, OrganisationId, Period, Timestamp, TransactionId};
use uuid::Uuid;

/// A row to insert with a write request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Record {
    /// Opened unless an account with the same code exists (account ids derive from their codes, so
    /// two requests opening the same account agree on it).
    Account(Account),
    Organisation(Organisation),
    OrganisationVersion(OrganisationVersionRecord),
    ProgrammeVersion(ProgrammeVersionRecord),
    BankAccount(BankAccountRecord),
    Programme(Programme),
    ContributionBatch(Box<ContributionBatchRecord>),
    BatchReceipt(BatchReceiptRecord),
    BatchReversal(BatchReversalRecord),
    /// Stored unless a document with the same SHA-256 is (content-addressed); put it before the
    /// fact that names it.
    EvidenceDocument(EvidenceDocumentRecord),
    Fact(FactRecord),
    FactDecision(FactDecisionRecord),
    FeeSchedule(FeeScheduleRecord),
    FeeCoverageDeposit(FeeCoverageDepositRecord),
    TransferRun(Box<TransferRunRecord>),
    TransferRunExecution(TransferRunExecutionRecord),
    Transfer(Box<TransferRecord>),
    TransferConfirmation(TransferConfirmationRecord),
    TransferDispute(Box<TransferDisputeRecord>),
    TransferDisputeResolution(TransferDisputeResolutionRecord),
    RedistributionReport(Box<RedistributionReportRecord>),
    ReportDecision(ReportDecisionRecord),
    ReportReversal(ReportReversalRecord),
    PublicationChoice(PublicationChoiceRecord),
    /// A camt.053 statement imported; put it before its entries.
    BankStatement(Box<BankStatementRecord>),
    /// A statement line; put it after the receipt it names.
    BankStatementEntry(Box<BankStatementEntryRecord>),
    BankStatementEntryDecision(BankStatementEntryDecisionRecord),
}

impl Record {
    /// Rows that journal postings or later rows refer to are inserted before the journal.
    /// Programme versions and transfer runs come after it: their triggers lock the programme's
    /// row (migrations/postgres/0025), and on PostgreSQL's optimistic path the chain-head row is
    /// locked with the journal, so every writer takes the chain head first, then the programme,
    /// and two instances cannot deadlock on the pair (tests/programme_rules.rs).
    fn before_journal(&self) -> bool {
        matches!(
            self,
            Record::Account(_)
                | Record::Organisation(_)
                | Record::Programme(_)
                | Record::EvidenceDocument(_)
                | Record::Fact(_)
                | Record::FeeSchedule(_)
                | Record::RedistributionReport(_)
        )
    }
}

/// A contribution batch and its lines.
#[derive(Debug, Clone)]
pub struct ContributionBatchRecord {
    pub id: Uuid,
    pub programme_id: Uuid,
    pub contributor_id: OrganisationId,
    pub period: Period,
    pub earmark_beneficiary_id: Option<OrganisationId>,
    pub currency: String,
    pub members_total: u64,
    pub amount_minor: i64,
    pub solidarity_minor: i64,
    pub donation_minor: i64,
    pub lines: Vec<BatchLine>,
    pub receivable_account_id: AccountId,
    pub pledge_transaction_id: TransactionId,
    pub submitted_by: String,
    pub created_at: Timestamp,
    /// The ISO 11649 creditor reference the contributor quotes when paying (electronic form,
    /// `RF..`), unique among batches (migration 0015).
    pub creditor_reference: String,
}

/// A bank receipt matched to a batch.
#[derive(Debug, Clone)]
pub struct BatchReceiptRecord {
    pub id: Uuid,
    pub batch_id: Uuid,
    pub amount_minor: i64,
    pub overpayment_minor: i64,
    pub value_date: FundDate,
    pub bank_reference: String,
    pub transaction_id: TransactionId,
    pub recorded_by: String,
    pub created_at: Timestamp,
    /// What the contributor sent in another currency: minor units, currency, the bank's rate.
    pub original: Option<(i64, String, String)>,
}

/// A camt.053 statement imported (migration 0017).
#[derive(Debug, Clone)]
pub struct BankStatementRecord {
    pub id: Uuid,
    pub statement_id: String,
    pub account: String,
    /// `iban` or `other`.
    pub account_kind: &'static str,
    pub camt_version: &'static str,
    pub message_id: Option<String>,
    pub currency: String,
    pub entries_count: i32,
    pub document_sha256: String,
    pub imported_by: String,
    pub created_at: Timestamp,
}

/// One entry of an imported statement, with its raw identifiers and what the import did.
#[derive(Debug, Clone)]
pub struct BankStatementEntryRecord {
    pub id: Uuid,
    pub bank_statement_id: Uuid,
    pub line_number: i32,
    /// `CRDT` or `DBIT`.
    pub direction: &'static str,
    pub amount_minor: i64,
    pub currency: String,
    pub entry_status: String,
    pub booking_date: Option<FundDate>,
    pub value_date: Option<FundDate>,
    pub entry_reference: Option<String>,
    pub account_servicer_reference: Option<String>,
    pub bank_transaction_code: Option<String>,
    pub charges_minor: Option<i64>,
    /// Every transaction's details, as JSON.
    pub transactions: String,
    pub end_to_end_id: Option<String>,
    pub creditor_reference: Option<String>,
    pub debtor_name: Option<String>,
    /// `receipt`, `transfer_debit`, `charge`, `unmatched` or `not_booked`.
    pub outcome: &'static str,
    pub outcome_detail: Option<String>,
    /// Why, as a code (the words are `outcome_detail`).
    pub outcome_code: Option<&'static str>,
    pub batch_receipt_id: Option<Uuid>,
    pub transfer_id: Option<Uuid>,
    pub charge_transaction_id: Option<TransactionId>,
    pub created_at: Timestamp,
}

/// The network's decision on an unmatched statement entry.
#[derive(Debug, Clone)]
pub struct BankStatementEntryDecisionRecord {
    pub entry_id: Uuid,
    /// `assigned` or `not_ours`.
    pub decision: &'static str,
    pub batch_receipt_id: Option<Uuid>,
    pub reason: Option<String>,
    pub decided_by: String,
    pub created_at: Timestamp,
}

/// The reversal of a batch.
#[derive(Debug, Clone)]
pub struct BatchReversalRecord {
    pub batch_id: Uuid,
    pub reason: String,
    pub transaction_id: TransactionId,
    pub recorded_by: String,
    pub created_at: Timestamp,
}

/// A fact about an organisation (eligibility evidence).
#[derive(Debug, Clone)]
pub struct FactRecord {
    pub id: Uuid,
    pub organisation_id: OrganisationId,
    pub code: String,
    pub value: String,
    pub as_of: FundDate,
    pub evidence_reference: String,
    /// `Submitted` (declared by the beneficiary) or `Verified` (the network's own).
    pub posted_status: FactStatus,
    /// The attached evidence document, stored with [`Record::EvidenceDocument`].
    pub evidence_sha256: Option<String>,
    pub recorded_by: String,
    pub created_at: Timestamp,
}

/// An organisation's choice to be named on the public site (the latest one is in force).
#[derive(Debug, Clone)]
pub struct PublicationChoiceRecord {
    pub id: Uuid,
    pub organisation_id: OrganisationId,
    pub published: bool,
    pub chosen_by: String,
    pub chosen_at: Timestamp,
}

/// A version of an organisation's details: a full snapshot in force from `effective_from`.
#[derive(Debug, Clone)]
pub struct OrganisationVersionRecord {
    pub organisation_id: OrganisationId,
    /// 1, 2, ...: one more than the last recorded.
    pub version_number: i32,
    pub effective_from: FundDate,
    pub name: String,
    pub contact: Option<String>,
    pub covered_members: Option<i64>,
    /// The beneficiary's own fee schedule: fixed minor units, currency and percent.
    pub fee_schedule: Option<(i64, String, String)>,
    /// The fields changed against the previous version.
    pub changed_fields: Vec<&'static str>,
    pub changed_by: String,
    pub created_at: Timestamp,
}

/// A bank account of a beneficiary or of the network, in force from `created_at`.
#[derive(Debug, Clone)]
pub struct BankAccountRecord {
    pub organisation_id: OrganisationId,
    /// 1, 2, ...: one more than the last recorded.
    pub version_number: i32,
    pub holder_name: String,
    pub iban: Option<String>,
    pub account_number: Option<String>,
    pub bic: Option<String>,
    pub currency: String,
    pub proposed_by: String,
    pub approved_by: Option<String>,
    pub proposal_id: Option<Uuid>,
    pub created_at: Timestamp,
}

/// A version of a programme's rules: a full snapshot in force from the start of its period.
#[derive(Debug, Clone)]
pub struct ProgrammeVersionRecord {
    pub programme_id: Uuid,
    pub version_number: i32,
    pub effective_period: String,
    pub effective_from: FundDate,
    pub allocation: AllocationPolicy,
    pub conditions: Vec<ConditionRule>,
    pub minimum_transfer_minor: i64,
    pub admin_cost_cap_percent: String,
    pub changed_fields: Vec<&'static str>,
    pub changed_by: String,
    pub created_at: Timestamp,
}

/// An evidence document, content-addressed by its SHA-256.
#[derive(Debug, Clone)]
pub struct EvidenceDocumentRecord {
    pub sha256: String,
    pub media_type: &'static str,
    pub content: Vec<u8>,
    pub created_at: Timestamp,
}

/// The network's decision on a submitted fact.
#[derive(Debug, Clone)]
pub struct FactDecisionRecord {
    pub fact_id: Uuid,
    /// `Verified` or `Rejected`.
    pub decision: FactStatus,
    /// Why it was rejected.
    pub reason: Option<String>,
    pub decided_by: String,
    pub created_at: Timestamp,
}

/// The expected fee schedule of a beneficiary or, as the default, of a programme.
#[derive(Debug, Clone)]
pub struct FeeScheduleRecord {
    /// An organisation id or a programme id.
    pub owner_id: Uuid,
    pub fixed_minor: i64,
    pub currency: String,
    pub percent: String,
    pub created_at: Timestamp,
}

/// Money given to fee coverage.
#[derive(Debug, Clone)]
pub struct FeeCoverageDepositRecord {
    pub id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    pub reference: String,
    pub transaction_id: TransactionId,
    pub recorded_by: String,
    pub created_at: Timestamp,
}

/// A recorded transfer-run plan.
#[derive(Debug, Clone)]
pub struct TransferRunRecord {
    pub id: Uuid,
    pub programme_id: Uuid,
    pub period: String,
    pub as_of: chrono::NaiveDate,
    /// The plan as JSON.
    pub plan: String,
    /// The balances the plan was computed from.
    pub fingerprint: String,
    pub planned_by: String,
    pub created_at: Timestamp,
    /// The version of the programme's rules the plan used (0: as opened).
    pub programme_version: i32,
}

/// The execution of a run.
#[derive(Debug, Clone)]
pub struct TransferRunExecutionRecord {
    pub run_id: Uuid,
    pub transaction_id: TransactionId,
    pub executed_by: String,
    pub created_at: Timestamp,
}

/// A transfer (a run's, or a top-up).
#[derive(Debug, Clone)]
pub struct TransferRecord {
    pub id: Uuid,
    /// `transfer` or `top_up`.
    pub kind: &'static str,
    pub run_id: Option<Uuid>,
    pub root_transfer_id: Uuid,
    pub parent_transfer_id: Option<Uuid>,
    pub programme_id: Uuid,
    pub beneficiary_id: OrganisationId,
    pub period: String,
    pub amount_minor: i64,
    pub currency: String,
    pub fee_minor: i64,
    pub local_currency: String,
    pub rate: Option<String>,
    pub rate_source: Option<String>,
    pub expected_local_minor: i64,
    pub residue_minor: String,
    pub end_to_end_id: String,
    pub in_transit_account_id: AccountId,
    pub transaction_id: TransactionId,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// A beneficiary's confirmation of a transfer.
#[derive(Debug, Clone)]
pub struct TransferConfirmationRecord {
    pub transfer_id: Uuid,
    pub received_minor: i64,
    pub received_currency: String,
    pub value_date: FundDate,
    pub bank_reference: String,
    pub fees_deducted_minor: Option<i64>,
    pub shortfall_minor: i64,
    pub surplus_minor: i64,
    pub top_up_transfer_id: Option<Uuid>,
    pub transaction_id: TransactionId,
    pub confirmed_by: String,
    pub created_at: Timestamp,
}

/// A beneficiary's claim that would need a top-up beyond what is paid without review: no money
/// moves until the network resolves it.
#[derive(Debug, Clone)]
pub struct TransferDisputeRecord {
    pub id: Uuid,
    pub transfer_id: Uuid,
    /// 1 for the transfer's first claim; unique per transfer.
    pub claim_number: i32,
    pub received_minor: i64,
    pub received_currency: String,
    pub value_date: FundDate,
    pub bank_reference: String,
    pub fees_deducted_minor: Option<i64>,
    /// The chain's shortfall if the claim were true, local minor units.
    pub shortfall_minor: i64,
    /// The top-up it would need, minor units of `currency`.
    pub top_up_minor: i64,
    /// Already paid by fee coverage for the chain's earlier top-ups, fees included.
    pub already_paid_minor: i64,
    /// What fee coverage may pay without review for the chain.
    pub allowance_minor: i64,
    pub currency: String,
    pub claimed_by: String,
    pub created_at: Timestamp,
}

/// The network's decision on a claim.
#[derive(Debug, Clone)]
pub struct TransferDisputeResolutionRecord {
    pub dispute_id: Uuid,
    /// `top_up` or `reject`.
    pub decision: &'static str,
    /// What arrived according to the bank statement (top_up only).
    pub established_minor: Option<i64>,
    pub bank_statement_reference: String,
    pub reason: String,
    /// The settlement booked (top_up only).
    pub transaction_id: Option<TransactionId>,
    pub top_up_transfer_id: Option<Uuid>,
    pub resolved_by: String,
    pub created_at: Timestamp,
}

/// A redistribution report and its lines.
#[derive(Debug, Clone)]
pub struct RedistributionReportRecord {
    pub id: Uuid,
    pub beneficiary_id: OrganisationId,
    pub period: String,
    pub currency: String,
    pub total_minor: i64,
    pub administration_minor: i64,
    pub notes: Option<String>,
    /// Purpose, amount (minor units) and members of each line, in order.
    pub lines: Vec<(String, i64, i64)>,
    pub submitted_by: String,
    pub created_at: Timestamp,
}

/// The network's decision on a report.
#[derive(Debug, Clone)]
pub struct ReportDecisionRecord {
    pub report_id: Uuid,
    /// `accepted` or `rejected`.
    pub decision: &'static str,
    pub reason: Option<String>,
    pub transaction_id: Option<TransactionId>,
    pub decided_by: String,
    pub created_at: Timestamp,
}

/// The reversal of an accepted report.
#[derive(Debug, Clone)]
pub struct ReportReversalRecord {
    pub report_id: Uuid,
    pub reason: String,
    pub transaction_id: TransactionId,
    pub reversed_by: String,
    pub created_at: Timestamp,
}

pub use ledger_core::chart::account_id_for_code;

pub(crate) fn line_kind(kind: LineKind) -> &'static str {
    match kind {
        LineKind::Solidarity => "solidarity",
        LineKind::Donation => "donation",
    }
}
