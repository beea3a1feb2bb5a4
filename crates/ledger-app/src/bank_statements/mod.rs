//! Bank statements in (issue 19, item 3): an admin uploads the bank's camt.053 statement of the
//! network's collection account ([`ImportStatement`]); every entry is kept with its raw
//! identifiers; credits quoting a batch's creditor reference for exactly what it owes become its
//! receipts, debits are matched to our transfers by EndToEndId, bank charges are booked to fee
//! coverage; the rest waits in the unmatched list, where an admin assigns an entry to a batch
//! ([`AssignStatementEntry`], the same receipt command) or marks it not ours
//! ([`DismissStatementEntry`]). The reading and matching rules live in `ledger_core::camt053` and
//! `ledger_core::statement_matching`.

mod decisions;
mod import;

pub use decisions::{
    AssignStatementEntry, AssignmentBody, DismissStatementEntry, DismissalBody, EntryDecisionView,
};
pub use import::{ImportStatement, MAX_STATEMENT_ID_CHARS};
pub use ledger_core::camt053::MAX_STATEMENT_BYTES;

use ledger_core::statement_matching::{Candidate, proposals};
use ledger_core::{Amount, FundDate};
use ledger_store::bank_statements::{BankStatementEntryRow, BankStatementRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::AppError;
use crate::fields::parse_id;
use crate::money::Money;
use crate::pagination::{OrderedPageQuery, Page, PageQuery, page};
use crate::policy::Operation;
use crate::runner::Query;
use crate::transfers::stored_currency;
use crate::{App, Caller};

/// The most open batches an unmatched credit is compared with to propose some (the newest).
pub const MAX_PROPOSAL_CANDIDATES: u32 = 2_000;

/// An imported statement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BankStatementView {
    /// Our id of the import.
    pub id: Uuid,
    /// The bank's statement identifier (`Stmt/Id`).
    pub statement_id: String,
    /// The account: an IBAN (electronic form) or the bank's other identifier.
    pub account: String,
    /// `iban` or `other`.
    pub account_kind: String,
    /// `camt.053.001.02` or `camt.053.001.08`.
    pub camt_version: String,
    /// `GrpHdr/MsgId` of the file.
    pub message_id: Option<String>,
    pub currency: String,
    pub entries_count: i32,
    /// SHA-256 of the file as uploaded, hex.
    pub document_sha256: String,
    pub imported_by: String,
    pub created_at: String,
}

/// A statement with its entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct BankStatementDetail {
    #[serde(flatten)]
    pub statement: BankStatementView,
    pub entries: Vec<StatementEntryView>,
}

/// One transaction's details, as the statement wrote them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TransactionDetailsView {
    pub end_to_end_id: Option<String>,
    /// `Refs/TxId`.
    pub transaction_id: Option<String>,
    /// `Refs/AcctSvcrRef`.
    pub account_servicer_reference: Option<String>,
    pub debtor_name: Option<String>,
    pub creditor_name: Option<String>,
    /// `RmtInf/Strd/CdtrRefInf/Ref`, as written.
    pub creditor_reference: Option<String>,
    /// `RmtInf/Ustrd`, lines joined with a space.
    pub unstructured: Option<String>,
}

/// The network's decision on an unmatched entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionView {
    /// `assigned` or `not_ours`.
    pub decision: String,
    pub reason: Option<String>,
    pub decided_by: String,
    pub decided_at: String,
}

/// A batch proposed for an unmatched credit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProposalView {
    pub batch_id: Uuid,
    /// What the batch still owes.
    pub outstanding: Money,
    /// The credit is exactly what the batch owes.
    pub same_amount: bool,
    /// The payer is named like the batch's contributor.
    pub payer_matches: bool,
}

/// One statement entry, with its raw identifiers and what became of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatementEntryView {
    /// Our id of the line.
    pub id: Uuid,
    /// Our id of the import it belongs to.
    pub bank_statement_id: Uuid,
    /// The bank's statement identifier.
    pub statement_id: String,
    /// 1-based position in the statement.
    pub line_number: i32,
    /// Where it is in the file (`Document/BkToCstmrStmt/Stmt/Ntry[3]`).
    pub element: String,
    /// `CRDT` or `DBIT`.
    pub direction: String,
    pub amount: Money,
    /// receipt | transfer_debit | charge | unmatched | not_booked | assigned | not_ours
    pub status: String,
    /// `Sts` as written (`BOOK`, `PDNG`...).
    pub entry_status: String,
    pub booking_date: Option<String>,
    pub value_date: Option<String>,
    /// `NtryRef`.
    pub entry_reference: Option<String>,
    /// The bank's reference of the entry (`AcctSvcrRef`).
    pub account_servicer_reference: Option<String>,
    /// `BkTxCd` as `Domain/Family/SubFamily`, a proprietary code after `;`.
    pub bank_transaction_code: Option<String>,
    /// The entry's charges (`Chrgs`).
    pub charges: Option<Money>,
    pub transactions: Vec<TransactionDetailsView>,
    /// Why it is unmatched, in words; for the debit of a settled transfer with charges, how they
    /// met the expected fee its settlement booked (covered by it, or only the excess booked).
    pub detail: Option<String>,
    /// `detail` as a code, for a page to say in its reader's language: one of
    /// [`OUTCOME_CODES`]; none for entries imported before it was kept.
    pub detail_code: Option<String>,
    /// The batch its receipt was booked on (by the import or an assignment).
    pub batch_id: Option<Uuid>,
    /// The receipt booked from this line.
    pub receipt_id: Option<Uuid>,
    /// The transfer a debit was matched to by EndToEndId.
    pub transfer_id: Option<Uuid>,
    /// The bank-charge transaction booked to fee coverage for this line (a settled transfer's
    /// debit: only for charges beyond its expected fee, none when the fee covered them).
    pub charge_transaction_id: Option<Uuid>,
    pub decision: Option<DecisionView>,
    /// For an unmatched credit: the batches it might pay (same amount, payer like the
    /// contributor), best first.
    pub proposals: Vec<ProposalView>,
}

pub(crate) fn statement_view(row: BankStatementRow) -> BankStatementView {
    BankStatementView {
        id: row.id,
        statement_id: row.statement_id,
        account: row.account,
        account_kind: row.account_kind,
        camt_version: row.camt_version,
        message_id: row.message_id,
        currency: row.currency,
        entries_count: row.entries_count,
        document_sha256: row.document_sha256,
        imported_by: row.imported_by,
        created_at: row.created_at.to_rfc3339(),
    }
}

pub(crate) fn entry_view(row: BankStatementEntryRow) -> Result<StatementEntryView, AppError> {
    let currency = stored_currency(&row.currency)?;
    let transactions: Vec<TransactionDetailsView> =
        serde_json::from_str(&row.transactions).map_err(AppError::internal)?;
    let status = row.status().to_owned();
    let decision = match (row.decision, row.decided_by, row.decided_at) {
        (Some(decision), Some(decided_by), Some(decided_at)) => Some(DecisionView {
            decision,
            reason: row.decision_reason,
            decided_by,
            decided_at: decided_at.to_rfc3339(),
        }),
        _ => None,
    };
    Ok(StatementEntryView {
        id: row.id,
        bank_statement_id: row.bank_statement_id,
        statement_id: row.statement_id,
        line_number: row.line_number,
        element: format!("Document/BkToCstmrStmt/Stmt/Ntry[{}]", row.line_number),
        direction: row.direction,
        amount: Money::from_minor(row.amount_minor, currency),
        status,
        entry_status: row.entry_status,
        booking_date: row.booking_date.map(|date| date.to_string()),
        value_date: row.value_date.map(|date| date.to_string()),
        entry_reference: row.entry_reference,
        account_servicer_reference: row.account_servicer_reference,
        bank_transaction_code: row.bank_transaction_code,
        charges: row
            .charges_minor
            .map(|minor| Money::from_minor(minor, currency)),
        transactions,
        detail: row.outcome_detail,
        detail_code: row.outcome_code,
        batch_id: row.batch_id,
        receipt_id: row.batch_receipt_id.or(row.decision_receipt_id),
        transfer_id: row.transfer_id,
        charge_transaction_id: row.charge_transaction_id,
        decision,
        proposals: Vec::new(),
    })
}

/// Fills the proposals of the unmatched credits among `entries` (one read of the open batches).
async fn with_proposals(
    app: &App,
    mut entries: Vec<StatementEntryView>,
) -> Result<Vec<StatementEntryView>, AppError> {
    let unmatched_credit =
        |entry: &StatementEntryView| entry.status == "unmatched" && entry.direction == "CRDT";
    let Some(first) = entries.iter().find(|entry| unmatched_credit(entry)) else {
        return Ok(entries);
    };
    let currency = stored_currency(&first.amount.currency)?;
    let candidates: Vec<Candidate> = app
        .store
        .open_batches(currency.code(), MAX_PROPOSAL_CANDIDATES)
        .await?
        .into_iter()
        .map(|row| Candidate {
            batch_id: row.batch_id,
            outstanding_minor: row.outstanding_minor,
            contributor_name: row.contributor_name,
        })
        .collect();
    for entry in entries.iter_mut().filter(|entry| unmatched_credit(entry)) {
        let entry_currency = stored_currency(&entry.amount.currency)?;
        if entry_currency != currency {
            continue;
        }
        let amount = Amount::parse(&entry.amount.amount, currency).map_err(AppError::internal)?;
        let payer = entry
            .transactions
            .iter()
            .find_map(|transaction| transaction.debtor_name.as_deref());
        let outstanding_of = |batch_id: Uuid| {
            candidates
                .iter()
                .find(|candidate| candidate.batch_id == batch_id)
                .map_or(0, |candidate| candidate.outstanding_minor)
        };
        entry.proposals = proposals(amount, payer, &candidates)
            .into_iter()
            .map(|proposal| ProposalView {
                batch_id: proposal.batch_id,
                outstanding: Money::from_minor(outstanding_of(proposal.batch_id), currency),
                same_amount: proposal.same_amount,
                payer_matches: proposal.payer_matches,
            })
            .collect();
    }
    Ok(entries)
}

/// A statement with its entries, as stored.
/// With `proposals`, unmatched credits carry the batches they might pay as of now (a re-import
/// answers without them, as the first import did).
pub(crate) async fn statement_detail(
    app: &App,
    statement: BankStatementRow,
    proposals: bool,
) -> Result<BankStatementDetail, AppError> {
    let entries = app
        .store
        .bank_statement_entries(statement.id)
        .await?
        .into_iter()
        .map(entry_view)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BankStatementDetail {
        statement: statement_view(statement),
        entries: if proposals {
            with_proposals(app, entries).await?
        } else {
            entries
        },
    })
}

/// The date a receipt from a statement line is booked at: its value date, else its booking
/// date.
pub(crate) fn line_date(
    value_date: Option<FundDate>,
    booking_date: Option<FundDate>,
) -> Option<FundDate> {
    value_date.or(booking_date)
}

/// Imported statements (admins, auditors).
#[derive(Debug)]
pub struct ListStatements(pub OrderedPageQuery);

impl Query for ListStatements {
    const OPERATION: Operation = Operation::ReadBankStatements;
    type Output = Page<BankStatementView>;

    async fn read(self, app: &App, _caller: &Caller) -> Result<Page<BankStatementView>, AppError> {
        let (limit, seek) = self.0.parse()?;
        let rows = app.store.bank_statements(seek, limit + 1).await?;
        Ok(page(rows, limit, |row| row.id, statement_view))
    }
}

/// How many statement lines await a decision (status `unmatched`), in all and per statement:
/// counted by the database, so however many there are.
#[derive(Debug)]
pub struct CountUnmatchedLines;

/// The unmatched lines counted.
#[derive(Debug, Default, Serialize)]
pub struct UnmatchedLines {
    pub total: u64,
    /// By statement (our id); a statement without unmatched lines is absent.
    pub by_statement: std::collections::BTreeMap<Uuid, u64>,
}

impl Query for CountUnmatchedLines {
    const OPERATION: Operation = Operation::ReadBankStatements;
    type Output = UnmatchedLines;

    async fn read(self, app: &App, _caller: &Caller) -> Result<UnmatchedLines, AppError> {
        let mut counted = UnmatchedLines::default();
        for (statement, count) in app.store.unmatched_entries_by_statement().await? {
            let count = u64::try_from(count).map_err(AppError::internal)?;
            counted.total += count;
            counted.by_statement.insert(statement, count);
        }
        Ok(counted)
    }
}

/// One imported statement with its entries (admins, auditors); the id as given in the path.
#[derive(Debug)]
pub struct ReadStatement(pub String);

impl Query for ReadStatement {
    const OPERATION: Operation = Operation::ReadBankStatements;
    type Output = BankStatementDetail;

    async fn read(self, app: &App, _caller: &Caller) -> Result<BankStatementDetail, AppError> {
        let not_found = || AppError::not_found("no such bank statement");
        let id = parse_id(&self.0).ok_or_else(not_found)?;
        let statement = app.store.bank_statement(id).await?.ok_or_else(not_found)?;
        statement_detail(app, statement, true).await
    }
}

/// Which statement entries to list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EntryListQuery {
    /// receipt | transfer_debit | charge | unmatched | not_booked | assigned | not_ours; every
    /// entry when absent.
    pub status: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    pub limit: Option<u32>,
    /// Where the previous page ended (its `next_cursor`).
    pub cursor: Option<String>,
}

/// The statuses an entry can have.
pub const ENTRY_STATUSES: &[&str] = &[
    "receipt",
    "transfer_debit",
    "charge",
    "unmatched",
    "not_booked",
    "assigned",
    "not_ours",
];

/// Why an entry is unmatched, or how a settled transfer's charges met its expected fee: the codes
/// an entry's `detail_code` takes (the import writes its words beside it).
pub const OUTCOME_CODES: &[&str] = &[
    // credits
    "no_reference",
    "invalid_reference",
    "unknown_reference",
    "reversed_batch",
    "amount_differs",
    "batch_paid_by_earlier_line",
    "no_date",
    "future_value_date",
    "receipt_refused",
    // debits
    "debit_amount_differs",
    "transfer_matched_by_earlier_line",
    "transfer_matched_before",
    "no_end_to_end_id",
    "unknown_end_to_end_id",
    // a matched transfer's charges
    "charges_excess",
    "charges_covered",
];

/// Statement entries, by status; unmatched credits with their proposals (admins, auditors).
#[derive(Debug)]
pub struct ListStatementEntries(pub EntryListQuery);

impl Query for ListStatementEntries {
    const OPERATION: Operation = Operation::ReadBankStatements;
    type Output = Page<StatementEntryView>;

    async fn read(self, app: &App, _caller: &Caller) -> Result<Page<StatementEntryView>, AppError> {
        let query = self.0;
        if let Some(status) = &query.status
            && !ENTRY_STATUSES.contains(&status.as_str())
        {
            return Err(AppError::invalid_field(
                "status",
                format!("must be one of {}", ENTRY_STATUSES.join(", ")),
            ));
        }
        let (limit, seek) = PageQuery {
            limit: query.limit,
            cursor: query.cursor,
        }
        .seek(None)?;
        let rows = app
            .store
            .bank_statement_entries_by_status(query.status.as_deref(), seek, limit + 1)
            .await?;
        let Page { items, next_cursor } = page(rows, limit, |row| row.id, |row| row);
        let entries = items
            .into_iter()
            .map(entry_view)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items: with_proposals(app, entries).await?,
            next_cursor,
        })
    }
}

/// One statement entry (admins, auditors); the id as given in the path.
#[derive(Debug)]
pub struct ReadStatementEntry(pub String);

impl Query for ReadStatementEntry {
    const OPERATION: Operation = Operation::ReadBankStatements;
    type Output = StatementEntryView;

    async fn read(self, app: &App, _caller: &Caller) -> Result<StatementEntryView, AppError> {
        let not_found = || AppError::not_found("no such bank statement entry");
        let id = parse_id(&self.0).ok_or_else(not_found)?;
        let row = app
            .store
            .bank_statement_entry(id)
            .await?
            .ok_or_else(not_found)?;
        let entries = with_proposals(app, vec![entry_view(row)?]).await?;
        entries.into_iter().next().ok_or_else(not_found)
    }
}
