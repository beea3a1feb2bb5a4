//! Importing a camt.053 statement: ONE write for the whole statement (the statement, every entry
//! with its raw identifiers, the receipts and charges it books), so a crash leaves all of it or
//! none; importing the same statement (bank id and account) again writes nothing and answers the
//! first import.

use std::collections::HashMap;

use ledger_core::camt053::{
    CreditDebit, Statement, StatementAccount, StatementEntry, read_statement,
};
use ledger_core::postings::transfers::{BankCharge, bank_charge};
use ledger_core::statement_matching::{
    QuotedReference, TransferCharges, bank_reference, charges_beyond_expected_fee, end_to_end_ids,
    is_charge, payer_name, quoted_reference, settles_exactly,
};
use ledger_core::text::{TextKind, checked_text};
use ledger_core::{Amount, FundDate};
use ledger_store::WriteRequest;
use ledger_store::records::{BankStatementEntryRecord, BankStatementRecord, Record};
use ledger_store::transfers::TransferRow;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{BankStatementDetail, TransactionDetailsView, line_date, statement_detail};
use crate::contributions::{CreateReceipt, MAX_BANK_REFERENCE_LENGTH, RecordReceipt};
use crate::error::{AppError, Refusal};
use crate::money::DecimalText;
use crate::payments::collection_account;
use crate::policy::Operation;
use crate::runner::{Command, Planned, Status};
use crate::transfers::eur;
use crate::{App, Caller};

/// ISO 20022 `Max35Text`: the longest statement identifier.
pub const MAX_STATEMENT_ID_CHARS: usize = 35;

/// Import a camt.053 statement of the network's collection account (the network).
#[derive(Debug)]
pub struct ImportStatement {
    /// The file as uploaded.
    pub document: Vec<u8>,
}

impl ImportStatement {
    /// The SHA-256 of the file, hex: what the idempotency key's request stands for.
    pub fn document_sha256(&self) -> String {
        hex::encode(Sha256::digest(&self.document))
    }
}

/// What the import does with one entry.
struct Outcome {
    outcome: &'static str,
    /// Why, as one of [`super::OUTCOME_CODES`], with `detail` in words.
    code: Option<&'static str>,
    detail: Option<String>,
    batch_receipt_id: Option<Uuid>,
    /// The batch of the receipt.
    batch_id: Option<Uuid>,
    transfer_id: Option<Uuid>,
    charge: Option<Amount>,
}

impl Outcome {
    fn unmatched(code: &'static str, detail: impl Into<String>) -> Outcome {
        debug_assert!(super::OUTCOME_CODES.contains(&code), "{code}");
        Outcome {
            outcome: "unmatched",
            code: Some(code),
            detail: Some(detail.into()),
            batch_receipt_id: None,
            batch_id: None,
            transfer_id: None,
            charge: None,
        }
    }

    fn plain(outcome: &'static str) -> Outcome {
        Outcome {
            outcome,
            code: None,
            detail: None,
            batch_receipt_id: None,
            batch_id: None,
            transfer_id: None,
            charge: None,
        }
    }
}

/// The write being built: what every entry adds.
#[derive(Default)]
struct Building {
    write: WriteRequest,
    /// What this import already applied to each batch (a second credit for the same batch in
    /// one statement is matched against what is left).
    applied: HashMap<Uuid, i64>,
    /// The transfers this import already matched, with the line that matched each.
    transfers: HashMap<Uuid, usize>,
}

impl Command for ImportStatement {
    const OPERATION: Operation = Operation::ImportBankStatement;
    type Output = BankStatementDetail;

    async fn plan(
        self,
        app: &App,
        caller: &Caller,
    ) -> Result<Planned<BankStatementDetail>, AppError> {
        let statement = read_statement(&self.document)
            .map_err(|error| AppError::invalid_field(error.path, error.reason))?;
        check_statement(app, &statement).await?;
        let account = statement.account.identifier().to_owned();
        if let Some(existing) = app
            .store
            .bank_statement_by_key(&statement.statement_id, &account)
            .await?
        {
            // The same statement again: nothing new, the first import's answer.
            let detail = statement_detail(app, existing, false).await?;
            return Ok(Planned::new(Status::Done, detail, WriteRequest::default()));
        }
        let now = app.sources.timestamp();
        let statement_row_id = app.sources.id();
        let document_sha256 = self.document_sha256();
        let mut building = Building::default();
        building
            .write
            .records
            .push(Record::BankStatement(Box::new(BankStatementRecord {
                id: statement_row_id,
                statement_id: statement.statement_id.clone(),
                account: account.clone(),
                account_kind: match statement.account {
                    StatementAccount::Iban(_) => "iban",
                    StatementAccount::Other(_) => "other",
                },
                camt_version: statement.version.as_str(),
                message_id: statement.message_id.clone(),
                currency: statement.currency.code().to_owned(),
                entries_count: i32::try_from(statement.entries.len())
                    .map_err(AppError::internal)?,
                document_sha256,
                imported_by: caller.subject.clone(),
                created_at: now,
            })));
        let today = app.sources.today()?;
        let mut entries = Vec::with_capacity(statement.entries.len());
        for entry in &statement.entries {
            let entry_id = app.sources.id();
            let outcome = outcome_of(app, caller, &statement, entry, today, &mut building).await?;
            let charge_transaction_id = match outcome.charge {
                Some(charge) if charge.is_positive() => Some(book_charge(
                    app,
                    caller,
                    &statement,
                    entry,
                    entry_id,
                    charge,
                    today,
                    &mut building,
                )?),
                _ => None,
            };
            let batch_id = outcome.batch_id;
            let record = entry_record(
                entry,
                entry_id,
                statement_row_id,
                outcome,
                charge_transaction_id,
                now,
            )?;
            entries.push(record_view(&record, &statement.statement_id, batch_id)?);
            building
                .write
                .records
                .push(Record::BankStatementEntry(Box::new(record)));
        }
        let write = building.write;
        let detail = BankStatementDetail {
            statement: super::BankStatementView {
                id: statement_row_id,
                statement_id: statement.statement_id.clone(),
                account,
                account_kind: match statement.account {
                    StatementAccount::Iban(_) => "iban",
                    StatementAccount::Other(_) => "other",
                }
                .to_owned(),
                camt_version: statement.version.as_str().to_owned(),
                message_id: statement.message_id.clone(),
                currency: statement.currency.code().to_owned(),
                entries_count: i32::try_from(statement.entries.len())
                    .map_err(AppError::internal)?,
                document_sha256: self.document_sha256(),
                imported_by: caller.subject.clone(),
                created_at: now.to_datetime().to_rfc3339(),
            },
            entries,
        };
        Ok(
            Planned::new(Status::Created, detail, write).on_guard(|_, _| {
                AppError::conflict(
                    "receipt_exceeds_outstanding",
                    "another receipt settled part of a batch this statement pays meanwhile; nothing was imported: import it again",
                )
            }),
        )
    }
}

/// The statement is for the network's collection account (the one batches are paid into: its
/// recorded account, else the configured one), in that account's currency, with an identifier that
/// fits.
async fn check_statement(app: &App, statement: &Statement) -> Result<(), AppError> {
    let Some(collection) = collection_account(app).await? else {
        return Err(AppError::conflict(
            "no_collection_account",
            "the network's collection account is neither recorded nor configured: a statement cannot be checked against it",
        ));
    };
    let ours = match &statement.account {
        StatementAccount::Iban(iban) => collection.iban.as_deref() == Some(iban.as_str()),
        StatementAccount::Other(number) => {
            collection.account_number.as_deref() == Some(number.as_str())
        }
    };
    if !ours {
        let account = &statement.account;
        return Err(AppError::invalid_field(
            account.path(),
            format!(
                "is {}, not the network's collection account {}",
                account.identifier(),
                collection
                    .iban
                    .as_deref()
                    .or(collection.account_number.as_deref())
                    .unwrap_or_default()
            ),
        ));
    }
    if statement.currency.to_string() != collection.currency || statement.currency != eur() {
        return Err(AppError::invalid_field(
            "Document/BkToCstmrStmt/Stmt/Acct/Ccy",
            format!(
                "is {}, not the collection account's currency {}",
                statement.currency, collection.currency
            ),
        ));
    }
    checked_text(
        &statement.statement_id,
        MAX_STATEMENT_ID_CHARS,
        TextKind::Identifier,
    )
    .map_err(|error| {
        AppError::invalid_field("Document/BkToCstmrStmt/Stmt/Id", error.to_string())
    })?;
    Ok(())
}

/// What becomes of one entry, adding the receipt it books to the write.
async fn outcome_of(
    app: &App,
    caller: &Caller,
    statement: &Statement,
    entry: &StatementEntry,
    today: FundDate,
    building: &mut Building,
) -> Result<Outcome, AppError> {
    if !entry.is_booked() {
        return Ok(Outcome::plain("not_booked"));
    }
    match entry.direction {
        CreditDebit::Credit => credit_outcome(app, caller, statement, entry, today, building).await,
        CreditDebit::Debit => debit_outcome(app, entry, building).await,
    }
}

async fn credit_outcome(
    app: &App,
    caller: &Caller,
    statement: &Statement,
    entry: &StatementEntry,
    today: FundDate,
    building: &mut Building,
) -> Result<Outcome, AppError> {
    let reference = match quoted_reference(entry) {
        QuotedReference::Absent => {
            return Ok(Outcome::unmatched(
                "no_reference",
                "quotes no structured creditor reference",
            ));
        }
        QuotedReference::Invalid { written, reason } => {
            return Ok(Outcome::unmatched(
                "invalid_reference",
                format!("its creditor reference {written:?} {reason}",),
            ));
        }
        QuotedReference::Valid(reference) => reference,
    };
    let Some(batch) = app
        .store
        .batch_by_creditor_reference(reference.as_str())
        .await?
    else {
        return Ok(Outcome::unmatched(
            "unknown_reference",
            format!("its creditor reference {reference} names no batch",),
        ));
    };
    if batch.reversal_reason.is_some() {
        return Ok(Outcome::unmatched(
            "reversed_batch",
            format!("its creditor reference {reference} names a reversed batch",),
        ));
    }
    let applied = building.applied.get(&batch.id).copied().unwrap_or(0);
    let outstanding = batch.outstanding_minor.saturating_sub(applied);
    if batch.currency != entry.amount.currency().code()
        || !settles_exactly(entry.amount, outstanding)
    {
        return Ok(Outcome::unmatched(
            "amount_differs",
            format!(
                "{} does not settle exactly what batch {} owes ({} {})",
                entry.amount.to_decimal_string(),
                batch.id,
                ledger_core::money::decimal_string(outstanding.max(0), entry.amount.currency()),
                batch.currency
            ),
        ));
    }
    if applied > 0 {
        // The batch's receipt planned above read the same balance: one receipt per batch and
        // statement (the first exact one).
        return Ok(Outcome::unmatched(
            "batch_paid_by_earlier_line",
            format!(
                "batch {} is already paid by an earlier line of this statement",
                batch.id
            ),
        ));
    }
    let Some(value_date) = line_date(entry.value_date, entry.booking_date) else {
        return Ok(Outcome::unmatched(
            "no_date",
            "has neither a value date nor a booking date",
        ));
    };
    if value_date > today {
        return Ok(Outcome::unmatched(
            "future_value_date",
            format!("its value date {value_date} is after today",),
        ));
    }
    let receipt = RecordReceipt {
        batch: batch.id.to_string(),
        body: CreateReceipt {
            amount: DecimalText::from_text(entry.amount.to_decimal_string()),
            value_date: value_date.to_string(),
            bank_reference: receipt_reference(statement, entry),
            overpayment: false,
            original: None,
            rate: None,
        },
    };
    let planned = match receipt.plan(app, caller).await {
        Ok(planned) => planned,
        // A refusal of the receipt (the batch changed since it was read) leaves the line for a
        // person; a defect or an outage refuses the import.
        Err(refusal) if matches!(refusal.refusal, Refusal::Invalid | Refusal::Conflict) => {
            return Ok(Outcome::unmatched(
                "receipt_refused",
                format!("its receipt was refused: {}", refusal.detail),
            ));
        }
        Err(error) => return Err(error),
    };
    building
        .applied
        .insert(batch.id, applied + entry.amount.minor());
    let receipt_id = planned.output.receipt.id;
    let mut write = planned.write;
    building.write.transactions.append(&mut write.transactions);
    building.write.guards.append(&mut write.guards);
    building.write.records.append(&mut write.records);
    Ok(Outcome {
        outcome: "receipt",
        code: None,
        detail: None,
        batch_receipt_id: Some(receipt_id),
        batch_id: Some(batch.id),
        transfer_id: None,
        charge: None,
    })
}

/// The bank reference a receipt keeps: the line's own, else the statement id and line number
/// (`STMT-2026-03/3`), so a receipt always leads back to its line.
pub(crate) fn receipt_reference(statement: &Statement, entry: &StatementEntry) -> String {
    bank_reference(entry)
        .and_then(|reference| {
            checked_text(reference, MAX_BANK_REFERENCE_LENGTH, TextKind::Identifier).ok()
        })
        .map_or_else(
            || format!("{}/{}", statement.statement_id, entry.line),
            str::to_owned,
        )
}

async fn debit_outcome(
    app: &App,
    entry: &StatementEntry,
    building: &mut Building,
) -> Result<Outcome, AppError> {
    if is_charge(entry) {
        return Ok(Outcome {
            charge: Some(entry.amount),
            ..Outcome::plain("charge")
        });
    }
    let ids = end_to_end_ids(entry);
    for id in &ids {
        let Some(transfer) = app.store.transfer_by_end_to_end_id(id).await? else {
            continue;
        };
        let charges = entry.charges.map_or(0, |charges| charges.minor());
        let currency_matches = transfer.currency == entry.amount.currency().code();
        let amount = entry.amount.minor();
        // The bank's debit is the transfer, or the transfer and its charges together.
        let charges_included = amount == transfer.amount_minor.saturating_add(charges);
        if !currency_matches || (amount != transfer.amount_minor && !charges_included) {
            return Ok(Outcome::unmatched(
                "debit_amount_differs",
                format!(
                    "EndToEndId {id} is transfer {}, of {} {}: the debit's amount differs",
                    transfer.id,
                    ledger_core::money::decimal_string(
                        transfer.amount_minor,
                        entry.amount.currency()
                    ),
                    transfer.currency
                ),
            ));
        }
        // A transfer leaves the bank once: its debit is matched once, the first time it is read.
        if let Some(line) = building.transfers.get(&transfer.id) {
            return Ok(Outcome::unmatched(
                "transfer_matched_by_earlier_line",
                format!(
                    "EndToEndId {id} is transfer {}, already matched to line {line} of this statement (Ntry[{line}])",
                    transfer.id
                ),
            ));
        }
        if let Some(earlier) = app
            .store
            .bank_statement_entry_of_transfer(transfer.id)
            .await?
        {
            return Ok(Outcome::unmatched(
                "transfer_matched_before",
                format!(
                    "EndToEndId {id} is transfer {}, already matched to entry {} (statement {} line {})",
                    transfer.id, earlier.id, earlier.statement_id, earlier.line_number
                ),
            ));
        }
        building.transfers.insert(transfer.id, entry.line);
        let (charge, (code, detail)) = match entry.charges {
            None => (None, (None, None)),
            Some(actual) => transfer_charges(&transfer, actual)?,
        };
        return Ok(Outcome {
            transfer_id: Some(transfer.id),
            charge,
            code,
            detail,
            ..Outcome::plain("transfer_debit")
        });
    }
    Ok(if ids.is_empty() {
        Outcome::unmatched("no_end_to_end_id", "a debit without an EndToEndId of ours")
    } else {
        Outcome::unmatched(
            "unknown_end_to_end_id",
            format!("no transfer has the EndToEndId {}", ids.join(", ")),
        )
    })
}

/// The part of a transfer debit's charges to book, and what the entry says of the rest. A matched
/// transfer was executed, so its expected fee was reserved from fee coverage then and is paid to
/// the bank by its settlement, whether the mutual confirms before or after the statement arrives:
/// only charges beyond that fee are booked here ([`charges_beyond_expected_fee`]), and the fee is
/// counted once in either order. What the entry says of it: a code and its words.
#[allow(clippy::type_complexity)]
fn transfer_charges(
    transfer: &TransferRow,
    actual: Amount,
) -> Result<(Option<Amount>, (Option<&'static str>, Option<String>)), AppError> {
    let expected_fee_booked = Some(
        Amount::from_minor(transfer.fee_minor, actual.currency()).map_err(AppError::internal)?,
    );
    let charges =
        charges_beyond_expected_fee(actual, expected_fee_booked).map_err(AppError::internal)?;
    let said = match charges {
        TransferCharges::Full(_) => (None, None),
        TransferCharges::Excess {
            expected_fee,
            excess,
        } => (
            Some("charges_excess"),
            Some(format!(
                "charges of {actual} exceed the transfer's expected fee of {expected_fee} (reserved at its execution, paid at its settlement): only the excess {excess} is booked to fee coverage"
            )),
        ),
        TransferCharges::CoveredByExpectedFee { expected_fee } => (
            Some("charges_covered"),
            Some(format!(
                "charges of {actual} covered by the transfer's expected fee of {expected_fee} (reserved at its execution, paid at its settlement): nothing more is booked"
            )),
        ),
    };
    Ok((charges.to_book(), said))
}

/// Books a charge of a statement line to fee coverage; the transaction's id.
#[allow(clippy::too_many_arguments)]
fn book_charge(
    app: &App,
    caller: &Caller,
    statement: &Statement,
    entry: &StatementEntry,
    entry_id: Uuid,
    charge: Amount,
    today: FundDate,
    building: &mut Building,
) -> Result<Uuid, AppError> {
    let mut header = app.sources.header(caller.actor());
    header.effective_date = line_date(entry.value_date, entry.booking_date)
        .filter(|date| *date <= today)
        .unwrap_or(today)
        .naive();
    let transaction_id = header.id.as_uuid();
    let reference = receipt_reference(statement, entry);
    let booked = bank_charge(
        header,
        &BankCharge {
            statement_entry_id: entry_id,
            amount: charge,
            statement_id: &statement.statement_id,
            bank_reference: &reference,
        },
    )?;
    building.write.transactions.push(booked.transaction);
    building
        .write
        .records
        .extend(booked.opens.into_iter().map(Record::Account));
    Ok(transaction_id)
}

fn entry_record(
    entry: &StatementEntry,
    entry_id: Uuid,
    statement_row_id: Uuid,
    outcome: Outcome,
    charge_transaction_id: Option<Uuid>,
    now: ledger_core::Timestamp,
) -> Result<BankStatementEntryRecord, AppError> {
    let transactions: Vec<TransactionDetailsView> = entry
        .transactions
        .iter()
        .map(|transaction| TransactionDetailsView {
            end_to_end_id: transaction.end_to_end_id.clone(),
            transaction_id: transaction.transaction_id.clone(),
            account_servicer_reference: transaction.account_servicer_reference.clone(),
            debtor_name: transaction.debtor_name.clone(),
            creditor_name: transaction.creditor_name.clone(),
            creditor_reference: transaction.creditor_reference.clone(),
            unstructured: transaction.unstructured.clone(),
        })
        .collect();
    let code = entry.bank_transaction_code.joined();
    Ok(BankStatementEntryRecord {
        id: entry_id,
        bank_statement_id: statement_row_id,
        line_number: i32::try_from(entry.line).map_err(AppError::internal)?,
        direction: entry.direction.code(),
        amount_minor: entry.amount.minor(),
        currency: entry.amount.currency().code().to_owned(),
        entry_status: entry.status.clone(),
        booking_date: entry.booking_date,
        value_date: entry.value_date,
        entry_reference: entry.entry_reference.clone(),
        account_servicer_reference: entry.account_servicer_reference.clone(),
        bank_transaction_code: (!code.is_empty()).then_some(code),
        charges_minor: entry.charges.map(|charges| charges.minor()),
        transactions: serde_json::to_string(&transactions).map_err(AppError::internal)?,
        end_to_end_id: entry
            .transactions
            .iter()
            .find_map(|transaction| transaction.end_to_end_id.clone()),
        creditor_reference: entry
            .transactions
            .iter()
            .find_map(|transaction| transaction.creditor_reference.clone()),
        debtor_name: payer_name(entry).map(str::to_owned),
        outcome: outcome.outcome,
        outcome_detail: outcome.detail,
        outcome_code: outcome.code,
        batch_receipt_id: outcome.batch_receipt_id,
        transfer_id: outcome.transfer_id,
        charge_transaction_id: charge_transaction_id.map(ledger_core::TransactionId::from_uuid),
        created_at: now,
    })
}

/// The view of an entry as the import records it (what a later read of it shows, proposals
/// aside).
fn record_view(
    record: &BankStatementEntryRecord,
    statement_id: &str,
    batch_id: Option<Uuid>,
) -> Result<super::StatementEntryView, AppError> {
    let currency = crate::transfers::stored_currency(&record.currency)?;
    Ok(super::StatementEntryView {
        id: record.id,
        bank_statement_id: record.bank_statement_id,
        statement_id: statement_id.to_owned(),
        line_number: record.line_number,
        element: format!("Document/BkToCstmrStmt/Stmt/Ntry[{}]", record.line_number),
        direction: record.direction.to_owned(),
        amount: crate::money::Money::from_minor(record.amount_minor, currency),
        status: record.outcome.to_owned(),
        entry_status: record.entry_status.clone(),
        booking_date: record.booking_date.map(|date| date.to_string()),
        value_date: record.value_date.map(|date| date.to_string()),
        entry_reference: record.entry_reference.clone(),
        account_servicer_reference: record.account_servicer_reference.clone(),
        bank_transaction_code: record.bank_transaction_code.clone(),
        charges: record
            .charges_minor
            .map(|minor| crate::money::Money::from_minor(minor, currency)),
        transactions: serde_json::from_str(&record.transactions).map_err(AppError::internal)?,
        detail: record.outcome_detail.clone(),
        detail_code: record.outcome_code.map(str::to_owned),
        batch_id,
        receipt_id: record.batch_receipt_id,
        transfer_id: record.transfer_id,
        charge_transaction_id: record.charge_transaction_id.map(|id| id.as_uuid()),
        decision: None,
        proposals: Vec::new(),
    })
}
