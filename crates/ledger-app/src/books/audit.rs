//! Auditors' reads: a streamed export of the journal that verifies offline, the chain and balance
//! check run in the database, and the trial balance as of a moment or as at an accounting date.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};
use ledger_core::export::{ExportFormat, ExportWriter};
use ledger_core::{Currency, Timestamp};
use ledger_store::{JournalPagesAhead, VerifyReport};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::BalanceBasis;
use crate::checkpoints::CheckpointView;
use crate::error::{AppError, FieldError};
use crate::money::Money;
use crate::policy::Operation;
use crate::runner::Query;
use crate::{App, Caller};

/// Rendered bytes are handed out in chunks of about this size: large enough to keep the per-chunk
/// overhead small, small enough to keep memory flat.
pub const EXPORT_CHUNK_BYTES: usize = 256 * 1024;

/// Which part of the journal to export, and how.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `jsonl` (one transaction with its postings per line) or `csv` (one row per posting).
    pub format: Option<String>,
    /// First sequence to export (default 1).
    pub from_sequence: Option<String>,
    /// Last sequence to export (default: the chain head when the export starts).
    pub to_sequence: Option<String>,
}

fn parse_sequence(text: Option<&str>, field: &str, errors: &mut Vec<FieldError>) -> Option<u64> {
    let text = text?;
    match text.parse::<u64>() {
        Ok(sequence) if sequence >= 1 && i64::try_from(sequence).is_ok() => Some(sequence),
        _ => {
            errors.push(FieldError::new(
                field,
                "must be a sequence number, 1 or more",
            ));
            None
        }
    }
}

/// Export the journal (auditor, admin): every field the hash chain covers, with sequence, previous
/// hash and hash, then an end record naming the last sequence and final hash. The layout is
/// specified in `docs/hash-chain.md`. The answer is a [`JournalExport`] that renders the file
/// chunk by chunk (constant memory); the chain head when the export starts fixes its end, so
/// transactions appended meanwhile are not included, however long the download takes. A range past
/// the end of the journal gives a file with no transaction and its end record.
#[derive(Debug)]
pub struct ExportJournal(pub ExportQuery);

impl Query for ExportJournal {
    const OPERATION: Operation = Operation::ExportJournal;
    type Output = JournalExport;

    async fn read(self, app: &App, _caller: &Caller) -> Result<JournalExport, AppError> {
        let query = self.0;
        let mut errors = Vec::new();
        let format = match query.format.as_deref() {
            None => None,
            Some(text) => {
                let format = ExportFormat::parse(text);
                if format.is_none() {
                    errors.push(FieldError::new("format", "must be `jsonl` or `csv`"));
                }
                format
            }
        };
        if query.format.is_none() {
            errors.push(FieldError::new("format", "is required: `jsonl` or `csv`"));
        }
        let from_sequence =
            parse_sequence(query.from_sequence.as_deref(), "from_sequence", &mut errors)
                .unwrap_or(1);
        let to_sequence = parse_sequence(query.to_sequence.as_deref(), "to_sequence", &mut errors);
        if let Some(to_sequence) = to_sequence
            && to_sequence < from_sequence
        {
            errors.push(FieldError::new(
                "to_sequence",
                "must not be before from_sequence",
            ));
        }
        let Some(format) = format.filter(|_| errors.is_empty()) else {
            return Err(AppError::validation(errors));
        };
        let (head_sequence, _) = app.store.chain_head().await?;
        let last = to_sequence.map_or(head_sequence, |to| to.min(head_sequence));
        // Read after the head: every account a posting up to `last` names is among them (SLJ2).
        let writer = ExportWriter::new(format).with_accounts(&app.store.all_accounts().await?);
        let checkpoint = checkpoint_of_range(app, from_sequence, last).await?;
        tracing::info!(
            format = format.as_str(),
            from_sequence,
            to_sequence = last,
            "export started"
        );
        Ok(JournalExport {
            format,
            from_sequence,
            pages: app.store.journal_pages_ahead(from_sequence, last),
            writer,
            last,
            checkpoint,
            started: false,
            finished: false,
        })
    }
}

/// The signed checkpoint an export of `from_sequence..=last` can be verified against: the highest
/// at or before `last`, if it is not before the range's start (sequence `from_sequence − 1`, whose
/// hash a range chains onto). `verify --file F --checkpoint C` then proves the file's transactions
/// up to its sequence are the ones it was signed over.
pub async fn checkpoint_of_range(
    app: &App,
    from_sequence: u64,
    last: u64,
) -> Result<Option<CheckpointView>, AppError> {
    Ok(app
        .store
        .checkpoint_at_or_before(last)
        .await?
        .filter(|stored| stored.checkpoint.sequence + 1 >= from_sequence)
        .map(|stored| CheckpointView::from(&stored.checkpoint)))
}

/// A journal export under way: its format and range, and where it stands. Each
/// [`JournalExport::next_chunk`] renders the next chunk of about [`EXPORT_CHUNK_BYTES`].
pub struct JournalExport {
    format: ExportFormat,
    from_sequence: u64,
    pages: JournalPagesAhead,
    writer: ExportWriter,
    last: u64,
    checkpoint: Option<CheckpointView>,
    started: bool,
    finished: bool,
}

impl std::fmt::Debug for JournalExport {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("JournalExport")
            .field("format", &self.format.as_str())
            .field("from_sequence", &self.from_sequence)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl JournalExport {
    pub fn format(&self) -> ExportFormat {
        self.format
    }

    /// The signed checkpoint the file can be verified against, when there is one
    /// ([`checkpoint_of_range`]).
    pub fn checkpoint(&self) -> Option<&CheckpointView> {
        self.checkpoint.as_ref()
    }

    /// The file's name: `journal-<from>-<last>.<format>`.
    pub fn file_name(&self) -> String {
        format!(
            "journal-{}-{}.{}",
            self.from_sequence,
            self.last,
            self.format.as_str()
        )
    }

    /// The next chunk of the file; `None` once the end record was handed out. A database error
    /// ends the export: the file then lacks its end record, which `verify --file` reports as a
    /// truncation.
    pub async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, AppError>> {
        if self.finished {
            return None;
        }
        let mut buffer = Vec::with_capacity(EXPORT_CHUNK_BYTES + 64 * 1024);
        if !self.started {
            self.started = true;
            self.writer.write_start(&mut buffer);
        }
        // The pages are all delivered when the reader is gone and its queue empty.
        let mut exhausted = false;
        while buffer.len() < EXPORT_CHUNK_BYTES {
            match self.pages.next().await {
                None => {
                    exhausted = true;
                    break;
                }
                Some(Ok(page)) => {
                    for record in page
                        .iter()
                        .take_while(|record| record.sequence <= self.last)
                    {
                        self.writer.write_record(record, &mut buffer);
                    }
                }
                Some(Err(error)) => {
                    tracing::error!(error = %error, "export failed; the response is cut short");
                    self.finished = true;
                    return Some(Err(error.into()));
                }
            }
        }
        if exhausted {
            self.writer.write_end(&mut buffer);
            self.finished = true;
        }
        Some(Ok(buffer))
    }
}

/// The first break of the chain, when there is one.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainBreakView {
    pub sequence: u64,
    /// sequence_gap | previous_hash_mismatch | hash_mismatch | unbalanced
    pub problem: String,
    /// What differs, in words.
    pub description: String,
}

/// An account whose stored balance is not the sum of its postings.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceMismatchView {
    pub account_id: Uuid,
    pub stored_minor: i64,
    /// As a decimal string: the sum may exceed 64 bits.
    pub postings_minor: String,
}

/// The outcome of recomputing the chain and every balance in the database.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyView {
    /// True when the chain, every balance and the chain head agree.
    pub valid: bool,
    pub transactions_count: u64,
    pub postings_count: u64,
    /// The hash of the last transaction that verified (64 hex digits).
    pub head_hash: String,
    pub first_break: Option<ChainBreakView>,
    pub balance_mismatches: Vec<BalanceMismatchView>,
    /// Set when the chain-head row does not point at the last transaction.
    pub head_mismatch: Option<String>,
}

fn verify_view(report: &VerifyReport) -> VerifyView {
    let first_break = report.first_break.as_ref().map(|broken| {
        let problem = serde_json::to_value(&broken.kind)
            .ok()
            .and_then(|value| value.get("problem")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        ChainBreakView {
            sequence: broken.sequence,
            problem,
            description: broken.kind.to_string(),
        }
    });
    VerifyView {
        valid: report.is_valid(),
        transactions_count: report.transactions_count,
        postings_count: report.postings_count,
        head_hash: report.head_hash.to_hex(),
        first_break,
        balance_mismatches: report
            .balance_mismatches
            .iter()
            .map(|mismatch| BalanceMismatchView {
                account_id: mismatch.account_id,
                stored_minor: mismatch.stored_minor,
                postings_minor: mismatch.postings_minor.to_string(),
            })
            .collect(),
        head_mismatch: report.head_mismatch.clone(),
    }
}

/// Recompute the hash chain and every account balance from the postings in the database, as
/// `solidarity-ledger verify` does, and report the first break (auditor, admin).
#[derive(Debug)]
pub struct VerifyJournal;

impl Query for VerifyJournal {
    const OPERATION: Operation = Operation::VerifyJournal;
    type Output = VerifyView;

    async fn read(self, app: &App, _caller: &Caller) -> Result<VerifyView, AppError> {
        let report = app.store.verify().await?;
        if !report.is_valid() {
            tracing::warn!(?report, "the ledger does not verify");
        }
        Ok(verify_view(&report))
    }
}

/// As of when: a moment of recording (`at`) or an accounting date (`as_of`), not both.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrialBalanceQuery {
    /// RFC 3339 timestamp: only transactions recorded up to it (inclusive), whatever their
    /// accounting date. Default: everything recorded so far.
    pub at: Option<String>,
    /// Accounting date `YYYY-MM-DD`: only transactions whose effective (accounting) date is on or
    /// before it, whenever they were recorded: the balances "as at" that date.
    pub as_of: Option<String>,
}

/// One account's totals in one currency. Debits and credits are both shown as positive amounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialBalanceAccount {
    pub account_id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub debit: Money,
    pub credit: Money,
    /// debit − credit (negative for an account with a credit balance).
    pub balance: Money,
}

/// The totals of one currency over every account.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialBalanceTotal {
    pub currency: String,
    pub debit: Money,
    pub credit: Money,
    /// debit − credit: zero in balanced books.
    pub net: Money,
    pub balanced: bool,
}

/// Every account's debit and credit totals per currency, and the proof that they net to zero.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialBalanceView {
    /// Which transactions the figures cover: `recorded_at` (by recording time: `at`, or
    /// everything recorded so far) or `effective_date` (by accounting date: `as_of`).
    pub basis: BalanceBasis,
    /// The moment of recording asked for; null for everything recorded so far or with `as_of`.
    pub at: Option<String>,
    /// The accounting date asked for (`YYYY-MM-DD`); null unless the basis is `effective_date`.
    pub as_of: Option<String>,
    pub accounts: Vec<TrialBalanceAccount>,
    pub totals: Vec<TrialBalanceTotal>,
    /// True when every currency nets to zero.
    pub balanced: bool,
}

fn sum_error(what: &str) -> AppError {
    AppError::internal_message(format!("the trial balance's {what} exceed 64 bits"))
}

/// The trial balance (auditor, admin): every account with postings, its debit and credit totals
/// per currency, and per-currency totals that net to zero; as of `at` (by the time transactions
/// were recorded) or as at the accounting date `as_of` (by their effective date). `basis` says
/// which.
#[derive(Debug)]
pub struct TrialBalance(pub TrialBalanceQuery);

impl Query for TrialBalance {
    const OPERATION: Operation = Operation::TrialBalance;
    type Output = TrialBalanceView;

    async fn read(self, app: &App, _caller: &Caller) -> Result<TrialBalanceView, AppError> {
        trial_balance(app, &self.0).await
    }
}

async fn trial_balance(app: &App, query: &TrialBalanceQuery) -> Result<TrialBalanceView, AppError> {
    let mut errors = Vec::new();
    let at = query.at.as_deref().and_then(|text| {
        let moment = DateTime::parse_from_rfc3339(text)
            .map(|moment| Timestamp::from_datetime(moment.to_utc()));
        if moment.is_err() {
            errors.push(FieldError::new(
                "at",
                "must be an RFC 3339 timestamp, e.g. 2026-11-30T23:59:59Z",
            ));
        }
        moment.ok()
    });
    let as_of = query.as_of.as_deref().and_then(|text| {
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d");
        if date.is_err() {
            errors.push(FieldError::new(
                "as_of",
                "must be an accounting date YYYY-MM-DD, e.g. 2026-11-30",
            ));
        }
        date.ok()
    });
    if query.at.is_some() && query.as_of.is_some() {
        errors.push(FieldError::new(
            "as_of",
            "give either `at` (a moment of recording) or `as_of` (an accounting date), not both",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let (basis, lines) = match as_of {
        Some(date) => (
            BalanceBasis::EffectiveDate,
            app.store.trial_balance_as_of_date(date).await?,
        ),
        None => (BalanceBasis::RecordedAt, app.store.trial_balance(at).await?),
    };
    let mut accounts = Vec::with_capacity(lines.len());
    let mut totals: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for line in lines {
        let currency = Currency::from_code(&line.currency).map_err(AppError::internal_message)?;
        let credit = line
            .credit_minor
            .checked_neg()
            .ok_or_else(|| sum_error("credits"))?;
        let balance = line
            .debit_minor
            .checked_sub(credit)
            .ok_or_else(|| sum_error("balances"))?;
        let total = totals.entry(line.currency.clone()).or_default();
        total.0 = total
            .0
            .checked_add(line.debit_minor)
            .ok_or_else(|| sum_error("debits"))?;
        total.1 = total
            .1
            .checked_add(credit)
            .ok_or_else(|| sum_error("credits"))?;
        accounts.push(TrialBalanceAccount {
            account_id: line.account_id,
            code: line.code,
            name: line.name,
            kind: line.kind,
            debit: Money::from_minor(line.debit_minor, currency),
            credit: Money::from_minor(credit, currency),
            balance: Money::from_minor(balance, currency),
        });
    }
    let mut total_views = Vec::with_capacity(totals.len());
    for (code, (debit, credit)) in totals {
        let currency = Currency::from_code(&code).map_err(AppError::internal_message)?;
        let net = debit
            .checked_sub(credit)
            .ok_or_else(|| sum_error("totals"))?;
        total_views.push(TrialBalanceTotal {
            currency: code,
            debit: Money::from_minor(debit, currency),
            credit: Money::from_minor(credit, currency),
            net: Money::from_minor(net, currency),
            balanced: net == 0,
        });
    }
    let balanced = total_views.iter().all(|total| total.balanced);
    if !balanced {
        tracing::error!("the trial balance does not net to zero");
    }
    Ok(TrialBalanceView {
        basis,
        at: at.map(|at| at.to_canonical_string()),
        as_of: as_of.map(|date| date.format("%Y-%m-%d").to_string()),
        accounts,
        totals: total_views,
        balanced,
    })
}
