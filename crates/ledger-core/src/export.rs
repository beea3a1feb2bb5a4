//! Auditors' export files of the journal (JSON Lines and CSV) and their offline verification.
//!
//! An export carries every field the hash chain covers, plus each transaction's sequence, previous
//! hash and hash, so the file alone proves (or disproves) that nothing was changed, dropped, added
//! or reordered. Both formats close with an *end record* naming the last sequence and final hash:
//! a file cut short (a truncated download, a dropped last line) lacks it or disagrees with it.
//!
//! This module is pure: it renders records into byte buffers and checks records handed to it; the
//! callers read and write files and sockets. The file layout is specified in
//! `docs/hash-chain.md` ("Export files"), which `tools/verify_export.py` follows independently.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::chain::{
    ChainBreak, ChainHash, ChainVerifier, GENESIS_HASH, JournalRecord, Movements, RecordDigest,
    RecordPosting,
};
use crate::jsonl_scan::{JsonlScanner, canonical_i64, canonical_u64};

/// The columns of a CSV export, in order: one row per posting, the transaction's fields repeated
/// on each of its rows, then one `end` row.
pub const CSV_COLUMNS: [&str; 17] = [
    "row",
    "sequence",
    "transaction_id",
    "kind",
    "effective_date",
    "recorded_at",
    "actor_subject",
    "actor_organisation",
    "memo",
    "metadata",
    "posting_count",
    "posting_index",
    "account_id",
    "currency",
    "amount_minor",
    "previous_hash",
    "hash",
];

/// The `row` value of a posting row of a CSV export.
pub const CSV_POSTING_ROW: &str = "posting";
/// The `row` value of the end row of a CSV export.
pub const CSV_END_ROW: &str = "end";
/// The `row` value of the row of a transaction without postings (never written by the ledger,
/// whose transactions have at least two, but representable so a tampered store still exports).
pub const CSV_EMPTY_ROW: &str = "transaction";

/// The two file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// One JSON object per transaction with its postings, one per line, then an end object.
    Jsonl,
    /// One row per posting, with a header row and an end row.
    Csv,
}

impl ExportFormat {
    pub fn parse(text: &str) -> Option<ExportFormat> {
        match text {
            "jsonl" => Some(ExportFormat::Jsonl),
            "csv" => Some(ExportFormat::Csv),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Csv => "csv",
        }
    }

    /// The media type an HTTP response carries.
    pub fn media_type(&self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "application/jsonl",
            ExportFormat::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// The closing record of an export: where the chain stands at its end. `None` for an export with
/// no transaction (a range past the end of the journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportEnd {
    pub last_sequence: Option<u64>,
    pub final_hash: Option<ChainHash>,
}

/// The JSONL form of the end record: `{"export_end":{...}}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonlEnd {
    export_end: ExportEnd,
}

/// Renders records into export bytes, remembering the last one for the end record.
#[derive(Debug, Clone)]
pub struct ExportWriter {
    format: ExportFormat,
    end: ExportEnd,
}

impl ExportWriter {
    pub fn new(format: ExportFormat) -> ExportWriter {
        ExportWriter {
            format,
            end: ExportEnd {
                last_sequence: None,
                final_hash: None,
            },
        }
    }

    pub fn format(&self) -> ExportFormat {
        self.format
    }

    /// What opens the file (the CSV header row; nothing for JSONL).
    pub fn write_start(&self, buffer: &mut Vec<u8>) {
        if self.format == ExportFormat::Csv {
            buffer.extend_from_slice(CSV_COLUMNS.join(",").as_bytes());
            buffer.extend_from_slice(b"\r\n");
        }
    }

    /// Appends one transaction (records must come in chain order).
    pub fn write_record(&mut self, record: &JournalRecord, buffer: &mut Vec<u8>) {
        match self.format {
            ExportFormat::Jsonl => {
                // Serialising plain strings, integers and hex hashes into a Vec cannot fail.
                if serde_json::to_writer(&mut *buffer, record).is_ok() {
                    buffer.push(b'\n');
                }
            }
            ExportFormat::Csv => write_csv_record(record, buffer),
        }
        self.end = ExportEnd {
            last_sequence: Some(record.sequence),
            final_hash: Some(record.hash),
        };
    }

    /// Appends the end record; nothing may follow it.
    pub fn write_end(&self, buffer: &mut Vec<u8>) {
        match self.format {
            ExportFormat::Jsonl => {
                let end = JsonlEnd {
                    export_end: self.end,
                };
                if serde_json::to_writer(&mut *buffer, &end).is_ok() {
                    buffer.push(b'\n');
                }
            }
            ExportFormat::Csv => {
                let last_sequence = self
                    .end
                    .last_sequence
                    .map(|sequence| sequence.to_string())
                    .unwrap_or_default();
                let final_hash = self
                    .end
                    .final_hash
                    .map(|hash| hash.to_hex())
                    .unwrap_or_default();
                let mut fields = [""; CSV_COLUMNS.len()];
                fields[0] = CSV_END_ROW;
                fields[1] = &last_sequence;
                fields[16] = &final_hash;
                write_csv_row(&fields, buffer);
            }
        }
    }
}

/// Appends one CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break.
fn write_csv_field(field: &str, buffer: &mut Vec<u8>) {
    if field.contains([',', '"', '\n', '\r']) {
        buffer.push(b'"');
        for (index, part) in field.split('"').enumerate() {
            if index > 0 {
                buffer.extend_from_slice(b"\"\"");
            }
            buffer.extend_from_slice(part.as_bytes());
        }
        buffer.push(b'"');
    } else {
        buffer.extend_from_slice(field.as_bytes());
    }
}

fn write_csv_row(fields: &[&str], buffer: &mut Vec<u8>) {
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            buffer.push(b',');
        }
        write_csv_field(field, buffer);
    }
    buffer.extend_from_slice(b"\r\n");
}

fn write_csv_record(record: &JournalRecord, buffer: &mut Vec<u8>) {
    // The transaction's columns are rendered once and repeated on each posting row.
    let mut transaction_columns = Vec::with_capacity(256);
    for field in [
        record.sequence.to_string().as_str(),
        &record.transaction_id.to_string(),
        &record.kind,
        &record.effective_date,
        &record.recorded_at,
        &record.actor_subject,
        &record.actor_organisation,
        &record.memo,
        &record.metadata,
        &record.postings.len().to_string(),
    ] {
        transaction_columns.push(b',');
        write_csv_field(field, &mut transaction_columns);
    }
    let mut hash_columns = Vec::with_capacity(132);
    for hash in [&record.previous_hash, &record.hash] {
        hash_columns.push(b',');
        hash_columns.extend_from_slice(hash.encode_hex(&mut [0; 64]).as_bytes());
    }
    hash_columns.extend_from_slice(b"\r\n");
    if record.postings.is_empty() {
        buffer.extend_from_slice(CSV_EMPTY_ROW.as_bytes());
        buffer.extend_from_slice(&transaction_columns);
        buffer.extend_from_slice(b",,,,");
        buffer.extend_from_slice(&hash_columns);
        return;
    }
    let mut uuid_text = Uuid::encode_buffer();
    for (index, posting) in record.postings.iter().enumerate() {
        buffer.extend_from_slice(CSV_POSTING_ROW.as_bytes());
        buffer.extend_from_slice(&transaction_columns);
        buffer.push(b',');
        buffer.extend_from_slice(index.to_string().as_bytes());
        buffer.push(b',');
        buffer.extend_from_slice(
            posting
                .account_id
                .hyphenated()
                .encode_lower(&mut uuid_text)
                .as_bytes(),
        );
        buffer.push(b',');
        write_csv_field(&posting.currency, buffer);
        buffer.push(b',');
        buffer.extend_from_slice(posting.amount_minor.to_string().as_bytes());
        buffer.extend_from_slice(&hash_columns);
    }
}

/// Why an export file cannot be read or does not verify. `Malformed` is a file that is not an
/// export at all at some line; every other variant is a finding about an export's contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileProblem {
    /// A line that is not an export record. `after_sequence` is the last transaction read before it.
    #[error("line {line} (after sequence {}): not a valid export record: {message}", display_sequence(*.after_sequence))]
    Malformed {
        line: u64,
        after_sequence: Option<u64>,
        message: String,
    },
    /// The chain breaks at a transaction.
    #[error("line {line}: {broken}")]
    Chain { line: u64, broken: ChainBreak },
    /// The CSV rows of one transaction disagree with one another.
    #[error("line {line}: the rows of sequence {sequence} disagree: {what}")]
    RowsDisagree {
        line: u64,
        sequence: u64,
        what: String,
    },
    /// The file stops without its end record (cut short).
    #[error("the file is truncated: it stops after sequence {} without the export's end record", display_sequence(*.after_sequence))]
    Truncated { after_sequence: Option<u64> },
    /// The end record names another last transaction than the file holds.
    #[error("line {line}: the end record says the export ends at sequence {} with hash {}, but the file ends at sequence {} with hash {}", display_sequence(*.end_sequence), display_hash(*.end_hash), display_sequence(*.file_sequence), display_hash(*.file_hash))]
    EndMismatch {
        line: u64,
        end_sequence: Option<u64>,
        end_hash: Option<ChainHash>,
        file_sequence: Option<u64>,
        file_hash: Option<ChainHash>,
    },
    /// Something follows the end record.
    #[error("line {line}: data after the export's end record")]
    AfterEnd { line: u64 },
    /// The first transaction is not where the auditor expected the export to start.
    #[error("line {line}: the export starts at sequence {found_sequence} after hash {found_previous_hash}, expected sequence {expected_sequence} after hash {}", display_hash(*.expected_previous_hash))]
    StartMismatch {
        line: u64,
        expected_sequence: u64,
        expected_previous_hash: Option<ChainHash>,
        found_sequence: u64,
        found_previous_hash: ChainHash,
    },
}

fn display_sequence(sequence: Option<u64>) -> String {
    sequence.map_or_else(|| "none".to_owned(), |sequence| sequence.to_string())
}

fn display_hash(hash: Option<ChainHash>) -> String {
    hash.map_or_else(|| "none".to_owned(), |hash| hash.to_hex())
}

impl FileProblem {
    /// True when the file is readable but its contents do not verify (as opposed to malformed).
    pub fn is_finding(&self) -> bool {
        !matches!(self, FileProblem::Malformed { .. })
    }

    /// The transaction the problem is at, when there is one.
    pub fn sequence(&self) -> Option<u64> {
        match self {
            FileProblem::Malformed { after_sequence, .. } => after_sequence.map(|s| s + 1),
            FileProblem::Chain { broken, .. } => Some(broken.sequence),
            FileProblem::RowsDisagree { sequence, .. } => Some(*sequence),
            FileProblem::Truncated { after_sequence } => after_sequence.map(|s| s + 1),
            FileProblem::EndMismatch { end_sequence, .. } => *end_sequence,
            FileProblem::AfterEnd { .. } => None,
            FileProblem::StartMismatch { found_sequence, .. } => Some(*found_sequence),
        }
    }
}

/// One line of a JSONL export: a transaction or the end record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // transactions are the common case; boxing them costs more
pub enum ExportItem {
    Record(JournalRecord),
    End(ExportEnd),
}

/// A transaction line of a JSONL export as JSON reads it: every key exactly once (a repeated key
/// is an error, not "the last one wins"), no other key; UUIDs and hashes are checked afterwards
/// for their one spelling ([`canonical_uuid`], [`canonical_hash`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonlRecord {
    sequence: u64,
    transaction_id: String,
    kind: String,
    effective_date: String,
    recorded_at: String,
    actor_subject: String,
    actor_organisation: String,
    memo: String,
    metadata: String,
    postings: Vec<JsonlPosting>,
    previous_hash: String,
    hash: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonlPosting {
    account_id: String,
    currency: String,
    amount_minor: i64,
}

/// The end line's inner object. `deserialize_with` makes both keys required: a plain `Option`
/// field would read a missing key as `null`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonlEndFields {
    #[serde(deserialize_with = "Option::deserialize")]
    last_sequence: Option<u64>,
    #[serde(deserialize_with = "Option::deserialize")]
    final_hash: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonlEndLine {
    export_end: JsonlEndFields,
}

/// A UUID as an export writes it, its only accepted spelling: 36 characters, lower-case
/// hexadecimal digits with hyphens after the 8th, 12th, 16th and 20th digit.
pub fn canonical_uuid(text: &[u8]) -> Option<Uuid> {
    if text.len() != 36 {
        return None;
    }
    let well_formed = text.iter().enumerate().all(|(index, byte)| {
        if matches!(index, 8 | 13 | 18 | 23) {
            *byte == b'-'
        } else {
            byte.is_ascii_digit() || (b'a'..=b'f').contains(byte)
        }
    });
    if !well_formed {
        return None;
    }
    Uuid::try_parse_ascii(text).ok()
}

/// A chain hash as an export writes it, its only accepted spelling: 64 lower-case hexadecimal
/// digits.
pub fn canonical_hash(text: &[u8]) -> Option<ChainHash> {
    if text.iter().any(u8::is_ascii_uppercase) {
        return None;
    }
    ChainHash::from_hex_bytes(text)
}

fn uuid_field(text: &str, name: &str) -> Result<Uuid, String> {
    canonical_uuid(text.as_bytes())
        .ok_or_else(|| format!("`{name}` `{text}` is not a lower-case hyphenated UUID"))
}

fn hash_field(text: &str, name: &str) -> Result<ChainHash, String> {
    canonical_hash(text.as_bytes())
        .ok_or_else(|| format!("`{name}` `{text}` is not 64 lower-case hexadecimal digits"))
}

/// Parses one line of a JSONL export (without its line break).
pub fn parse_jsonl_line(line: &[u8]) -> Result<ExportItem, String> {
    match serde_json::from_slice::<JsonlRecord>(line) {
        Ok(record) => {
            let mut postings = Vec::with_capacity(record.postings.len());
            for posting in record.postings {
                postings.push(RecordPosting {
                    account_id: uuid_field(&posting.account_id, "account_id")?,
                    currency: posting.currency,
                    amount_minor: posting.amount_minor,
                });
            }
            Ok(ExportItem::Record(JournalRecord {
                sequence: record.sequence,
                transaction_id: uuid_field(&record.transaction_id, "transaction_id")?,
                kind: record.kind,
                effective_date: record.effective_date,
                recorded_at: record.recorded_at,
                actor_subject: record.actor_subject,
                actor_organisation: record.actor_organisation,
                memo: record.memo,
                metadata: record.metadata,
                postings,
                previous_hash: hash_field(&record.previous_hash, "previous_hash")?,
                hash: hash_field(&record.hash, "hash")?,
            }))
        }
        Err(record_error) => match serde_json::from_slice::<JsonlEndLine>(line) {
            Ok(end) => Ok(ExportItem::End(ExportEnd {
                last_sequence: end.export_end.last_sequence,
                final_hash: end
                    .export_end
                    .final_hash
                    .map(|hash| hash_field(&hash, "final_hash"))
                    .transpose()?,
            })),
            Err(_) => Err(record_error.to_string()),
        },
    }
}

/// One line of a JSONL export, digested: a transaction ready for [`ExportVerifier::push_digest`],
/// or the end record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestedLine {
    Record(RecordDigest),
    End(ExportEnd),
}

/// Parses and digests one line of a JSONL export (without its line break), tallying its postings
/// into `movements`. Lines as the ledger writes them take a fast path that hashes while it reads
/// ([`JsonlScanner`]); any other line is parsed as JSON, which accepts what the fast path
/// would and words the error for what it would not. `scanner` is reused between calls.
pub fn digest_jsonl_line(
    line: &[u8],
    scanner: &mut JsonlScanner,
    movements: &mut Movements,
) -> Result<DigestedLine, String> {
    if let Some(digest) = scanner.scan(line, movements) {
        return Ok(DigestedLine::Record(digest));
    }
    match parse_jsonl_line(line)? {
        ExportItem::Record(record) => {
            movements.add_record(&record);
            Ok(DigestedLine::Record(RecordDigest::of(&record)))
        }
        ExportItem::End(end) => Ok(DigestedLine::End(end)),
    }
}

/// A transaction (or the end record) assembled from CSV rows, with what its rows got wrong, if
/// anything: to check with [`ExportVerifier::push`] first, then to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    /// The line of its first row.
    pub line: u64,
    pub item: ExportItem,
    pub rows_problem: Option<FileProblem>,
}

impl Assembled {
    /// Checks the item, then its rows.
    pub fn verify_with(&self, verifier: &mut ExportVerifier) -> Result<(), FileProblem> {
        verifier.push(self.line, &self.item)?;
        match &self.rows_problem {
            Some(problem) => Err(problem.clone()),
            None => Ok(()),
        }
    }
}

/// Groups CSV rows (already split into fields by a CSV reader) into transactions.
#[derive(Debug, Default)]
pub struct CsvAssembler {
    /// The transaction being assembled, the line of its first row and its declared posting count.
    current: Option<(JournalRecord, u64, usize)>,
    /// The transaction-level fields of the current transaction's first row, to compare later rows.
    current_fields: Vec<String>,
    header_seen: bool,
    /// A problem with the current transaction's first row, reported after its chain check.
    pending: Option<FileProblem>,
}

/// The columns that must be the same on every row of one transaction.
const CSV_TRANSACTION_COLUMNS: std::ops::Range<usize> = 1..11;
const CSV_HASH_COLUMNS: std::ops::Range<usize> = 15..17;

impl CsvAssembler {
    pub fn new() -> CsvAssembler {
        CsvAssembler::default()
    }

    /// Takes the next row. Returns the transactions and end record completed by it, in order.
    pub fn push_row(
        &mut self,
        fields: &[&str],
        line: u64,
        after_sequence: Option<u64>,
    ) -> Result<Vec<Assembled>, FileProblem> {
        let malformed = |message: String| FileProblem::Malformed {
            line,
            after_sequence,
            message,
        };
        if fields.len() != CSV_COLUMNS.len() {
            return Err(malformed(format!(
                "{} fields, an export row has {}",
                fields.len(),
                CSV_COLUMNS.len()
            )));
        }
        if !self.header_seen {
            if fields != CSV_COLUMNS {
                return Err(malformed(format!(
                    "the header row must be {}",
                    CSV_COLUMNS.join(",")
                )));
            }
            self.header_seen = true;
            return Ok(Vec::new());
        }
        let mut completed = Vec::new();
        match fields[0] {
            CSV_END_ROW => {
                if let Some(column) = (2..16).find(|column| !fields[*column].is_empty()) {
                    return Err(malformed(format!(
                        "the end row has `{}`; only `sequence` and `hash` are filled on it",
                        CSV_COLUMNS[column]
                    )));
                }
                completed.extend(self.take_current());
                let end = ExportEnd {
                    last_sequence: optional(fields[1], parse_u64).map_err(&malformed)?,
                    final_hash: optional(fields[16], parse_hash).map_err(&malformed)?,
                };
                completed.push(Assembled {
                    line,
                    item: ExportItem::End(end),
                    rows_problem: None,
                });
            }
            CSV_POSTING_ROW | CSV_EMPTY_ROW => {
                let sequence = parse_u64(fields[1]).map_err(&malformed)?;
                if fields[0] == CSV_EMPTY_ROW
                    && let Some(column) = (11..15).find(|column| !fields[*column].is_empty())
                {
                    return Err(malformed(format!(
                        "a `transaction` row (no postings) has `{}`",
                        CSV_COLUMNS[column]
                    )));
                }
                let belongs = self
                    .current
                    .as_ref()
                    .is_some_and(|(record, _, _)| record.sequence == sequence);
                if belongs {
                    self.add_to_current(fields, line, sequence)?;
                } else {
                    completed.extend(self.take_current());
                    self.start(fields, line, after_sequence)?;
                }
            }
            other => return Err(malformed(format!("unknown row type `{other}`"))),
        }
        Ok(completed)
    }

    /// The transaction still being assembled when the rows run out.
    pub fn finish(&mut self) -> Option<Assembled> {
        self.take_current()
    }

    fn take_current(&mut self) -> Option<Assembled> {
        let (record, line, declared) = self.current.take()?;
        // Reported only after the chain check of the record: a moved or changed row is named
        // by the chain at the sequence it belongs to; a count changed on every row is named here.
        let pending = self.pending.take();
        let rows_problem = pending.or_else(|| {
            (record.postings.len() != declared).then(|| FileProblem::RowsDisagree {
                line,
                sequence: record.sequence,
                what: format!(
                    "`posting_count` says {declared} postings, the file has {} rows",
                    record.postings.len()
                ),
            })
        });
        Some(Assembled {
            line,
            item: ExportItem::Record(record),
            rows_problem,
        })
    }

    fn start(
        &mut self,
        fields: &[&str],
        line: u64,
        after_sequence: Option<u64>,
    ) -> Result<(), FileProblem> {
        let parsed = (|| -> Result<(JournalRecord, usize), String> {
            let posting_count = parse_u64(fields[10])?;
            let posting_count =
                usize::try_from(posting_count).map_err(|error| error.to_string())?;
            let mut record = JournalRecord {
                sequence: parse_u64(fields[1])?,
                transaction_id: parse_uuid(fields[2])?,
                kind: fields[3].to_owned(),
                effective_date: fields[4].to_owned(),
                recorded_at: fields[5].to_owned(),
                actor_subject: fields[6].to_owned(),
                actor_organisation: fields[7].to_owned(),
                memo: fields[8].to_owned(),
                metadata: fields[9].to_owned(),
                postings: Vec::with_capacity(posting_count.min(64)),
                previous_hash: parse_hash(fields[15])?,
                hash: parse_hash(fields[16])?,
            };
            if fields[0] == CSV_POSTING_ROW {
                record.postings.push(parse_posting(fields)?);
            }
            Ok((record, posting_count))
        })();
        let (record, posting_count) = parsed.map_err(|message| FileProblem::Malformed {
            line,
            after_sequence,
            message,
        })?;
        self.current_fields.clear();
        self.current_fields.extend(
            CSV_TRANSACTION_COLUMNS
                .chain(CSV_HASH_COLUMNS)
                .map(|index| fields[index].to_owned()),
        );
        self.current = Some((record, line, posting_count));
        // The transaction before this row may still have to be checked (it is returned by the
        // same call): a problem with this first row waits for this transaction's own check.
        self.pending = self.check_index(fields, line).err();
        Ok(())
    }

    fn add_to_current(
        &mut self,
        fields: &[&str],
        line: u64,
        sequence: u64,
    ) -> Result<(), FileProblem> {
        // The row's own fields are read first: a malformed row is malformed whatever it repeats.
        let posting = if fields[0] == CSV_POSTING_ROW {
            Some(
                parse_posting(fields).map_err(|message| FileProblem::Malformed {
                    line,
                    after_sequence: sequence.checked_sub(1),
                    message,
                })?,
            )
        } else {
            None
        };
        for (column, first) in CSV_TRANSACTION_COLUMNS
            .chain(CSV_HASH_COLUMNS)
            .zip(&self.current_fields)
        {
            if fields[column] != first {
                return Err(FileProblem::RowsDisagree {
                    line,
                    sequence,
                    what: format!(
                        "`{}` differs from the transaction's first row",
                        CSV_COLUMNS[column]
                    ),
                });
            }
        }
        let Some(posting) = posting else {
            return Err(FileProblem::RowsDisagree {
                line,
                sequence,
                what: "a transaction row without postings has further rows".into(),
            });
        };
        if let Some((record, _, _)) = &mut self.current {
            record.postings.push(posting);
        }
        self.check_index(fields, line)
    }

    /// Posting rows carry their index and the transaction's count: a removed, repeated or moved
    /// row is named here, at its transaction.
    fn check_index(&self, fields: &[&str], line: u64) -> Result<(), FileProblem> {
        let Some((record, _, declared)) = &self.current else {
            return Ok(());
        };
        let expected_index = record.postings.len().checked_sub(1);
        let found_index = optional(fields[11], parse_u64).ok().flatten();
        let index_matches = match (expected_index, found_index) {
            (None, None) => true,
            (Some(expected), Some(found)) => u64::try_from(expected).ok() == Some(found),
            _ => false,
        };
        if !index_matches || record.postings.len() > *declared {
            return Err(FileProblem::RowsDisagree {
                line,
                sequence: record.sequence,
                what: format!(
                    "posting row `{}` where posting {} of {} was expected",
                    fields[11],
                    record.postings.len().saturating_sub(1),
                    declared
                ),
            });
        }
        Ok(())
    }
}

fn optional<T>(text: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    if text.is_empty() {
        Ok(None)
    } else {
        parse(text).map(Some)
    }
}

/// An unsigned integer of a CSV export: `0` or digits without a leading zero (no sign, no space),
/// at most `u64::MAX`.
fn parse_u64(text: &str) -> Result<u64, String> {
    canonical_u64(text.as_bytes()).ok_or_else(|| {
        format!(
            "`{text}` is not an unsigned integer written `0` or without a leading zero, in range"
        )
    })
}

fn parse_uuid(text: &str) -> Result<Uuid, String> {
    canonical_uuid(text.as_bytes())
        .ok_or_else(|| format!("`{text}` is not a lower-case hyphenated UUID"))
}

fn parse_hash(text: &str) -> Result<ChainHash, String> {
    canonical_hash(text.as_bytes())
        .ok_or_else(|| format!("`{text}` is not 64 lower-case hexadecimal digits"))
}

/// A posting row's own columns; its `posting_index` is read here for its spelling, and compared
/// with the posting's place by the assembler.
fn parse_posting(fields: &[&str]) -> Result<RecordPosting, String> {
    parse_u64(fields[11])?;
    let amount_text = fields[14];
    let amount_minor = canonical_i64(amount_text.as_bytes()).ok_or_else(|| {
        format!("`{amount_text}` is not a signed integer (`0`, or an optional `-` then digits without a leading zero), in range")
    })?;
    Ok(RecordPosting {
        account_id: parse_uuid(fields[12])?,
        currency: fields[13].to_owned(),
        amount_minor,
    })
}

/// The totals of one currency over every account: debit balances, credit balances, and their sum
/// (zero in balanced books).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CurrencyTotals {
    pub accounts_count: u64,
    /// Sum of the positive balances.
    pub debit_minor: i128,
    /// Sum of the negative balances (a negative number).
    pub credit_minor: i128,
}

impl CurrencyTotals {
    pub fn net_minor(&self) -> i128 {
        self.debit_minor + self.credit_minor
    }
}

/// What a verified export proves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    pub transactions_count: u64,
    pub postings_count: u64,
    /// The first transaction's sequence and the hash it chains onto (genesis for a whole chain).
    pub first_sequence: Option<u64>,
    pub start_previous_hash: Option<ChainHash>,
    pub last_sequence: Option<u64>,
    pub final_hash: Option<ChainHash>,
    /// Per currency, from the postings in the file alone (for a range: the movements of the range).
    pub trial_balance: BTreeMap<String, CurrencyTotals>,
    /// The chain hash after the watched sequence ([`ExportVerifier::watching`]), when the file
    /// reached it.
    pub watched_hash: Option<(u64, ChainHash)>,
}

/// Why a verified export is not the history a signed head (a checkpoint) vouches for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeadMismatch {
    /// The file never reaches the head's sequence (its last transactions deleted, an older
    /// export) or starts after it.
    #[error(
        "the file does not reach the checkpoint: the checkpoint signs the head after sequence {sequence}, the file holds {held} (transactions deleted at its end, or an older export)"
    )]
    NotReached { sequence: u64, held: String },
    /// The file's chain hash at the head's sequence is another one: a rewritten history.
    #[error(
        "the chain hash after sequence {sequence} is {file_hash} in the file, but the checkpoint signs {head_hash}: this is not the history the checkpoint was signed over"
    )]
    Differs {
        sequence: u64,
        file_hash: ChainHash,
        head_hash: ChainHash,
    },
}

impl ExportSummary {
    /// Checks the file against a signed head `(sequence, hash)`: the chain hash after `sequence`
    /// in the file must be `hash`. The verifier must have watched `sequence`
    /// ([`ExportVerifier::watching`]). Since every hash covers all the transactions before it,
    /// a match proves the file's transactions up to `sequence` are the ones the head was signed
    /// over; what follows it in the file is only consistent with itself.
    pub fn check_head(&self, sequence: u64, hash: ChainHash) -> Result<(), HeadMismatch> {
        match self.watched_hash {
            Some((watched, file_hash)) if watched == sequence => {
                if file_hash == hash {
                    Ok(())
                } else {
                    Err(HeadMismatch::Differs {
                        sequence,
                        file_hash,
                        head_hash: hash,
                    })
                }
            }
            _ => Err(HeadMismatch::NotReached {
                sequence,
                held: match (self.first_sequence, self.last_sequence) {
                    (Some(first), Some(last)) => format!("sequences {first} to {last}"),
                    _ => "no transaction".to_owned(),
                },
            }),
        }
    }

    /// True when the export starts at the beginning of the chain, so its balances are the books'.
    pub fn is_whole_chain(&self) -> bool {
        self.first_sequence.is_none_or(|sequence| sequence == 1)
    }
}

impl fmt::Display for ExportSummary {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            formatter,
            "export valid: {} transactions, {} postings",
            self.transactions_count, self.postings_count
        )?;
        match (self.first_sequence, self.start_previous_hash) {
            (Some(1), Some(previous)) => {
                writeln!(
                    formatter,
                    "range: sequences 1 to {} (the whole chain from genesis {previous})",
                    display_sequence(self.last_sequence)
                )?;
            }
            (Some(first), Some(previous)) => {
                writeln!(
                    formatter,
                    "range: sequences {first} to {}, chained onto {previous} (the hash of sequence {}; check it against the ledger or the export before)",
                    display_sequence(self.last_sequence),
                    first - 1
                )?;
            }
            _ => writeln!(formatter, "range: empty (no transaction)")?,
        }
        writeln!(formatter, "final hash: {}", display_hash(self.final_hash))?;
        let label = if self.is_whole_chain() {
            "trial balance (every account's balance, summed per currency)"
        } else {
            "movements of the range (every account's change, summed per currency)"
        };
        writeln!(formatter, "{label}:")?;
        if self.trial_balance.is_empty() {
            writeln!(formatter, "  (no postings)")?;
        }
        for (currency, totals) in &self.trial_balance {
            writeln!(
                formatter,
                "  {currency}: {} accounts, debits {} minor units, credits {} minor units, net {}",
                totals.accounts_count,
                totals.debit_minor,
                totals.credit_minor,
                totals.net_minor()
            )?;
        }
        Ok(())
    }
}

/// Checks an export's items in file order: the chain (via [`ChainVerifier`]), the end record, and
/// an optional expected start; tallies the trial balance.
#[derive(Debug, Default, Clone)]
pub struct ExportVerifier {
    expected_start: Option<(u64, Option<ChainHash>)>,
    chain: Option<ChainVerifier>,
    first: Option<(u64, ChainHash)>,
    last: Option<(u64, ChainHash)>,
    end_seen: bool,
    /// The postings tallied so far (handed to the chain's balances at the end).
    pending_movements: Movements,
    /// The sequence whose chain hash is kept (a checkpoint's), and that hash once read.
    watched: Option<(u64, Option<ChainHash>)>,
}

impl ExportVerifier {
    /// A verifier of a whole chain: the file must start at sequence 1, after the genesis hash. A
    /// file that starts anywhere else is refused at its first record
    /// ([`FileProblem::StartMismatch`]): without it, deleting the first transactions of a file
    /// would leave a valid-looking range.
    pub fn new() -> ExportVerifier {
        ExportVerifier::expecting_start(1, None)
    }

    /// Also keeps the chain hash after transaction `sequence` (the genesis hash for 0, or a
    /// range's start hash for the sequence before it), for [`ExportSummary::check_head`].
    pub fn watching(mut self, sequence: u64) -> ExportVerifier {
        self.watched = Some((sequence, (sequence == 0).then_some(GENESIS_HASH)));
        self
    }

    /// A verifier that also requires the export to start at `sequence` (and, when given, after
    /// `previous_hash`): what an auditor who expects a whole chain, or the continuation of an
    /// earlier export, asks for.
    pub fn expecting_start(sequence: u64, previous_hash: Option<ChainHash>) -> ExportVerifier {
        ExportVerifier {
            expected_start: Some((sequence, previous_hash)),
            ..ExportVerifier::default()
        }
    }

    /// The last transaction verified.
    pub fn last_sequence(&self) -> Option<u64> {
        self.last.map(|(sequence, _)| sequence)
    }

    /// Checks the next item, read at `line`.
    pub fn push(&mut self, line: u64, item: &ExportItem) -> Result<(), FileProblem> {
        if self.end_seen {
            return Err(FileProblem::AfterEnd { line });
        }
        match item {
            ExportItem::Record(record) => self.push_record(line, record),
            ExportItem::End(end) => {
                self.end_seen = true;
                let file_sequence = self.last_sequence();
                let file_hash = self.last.map(|(_, hash)| hash);
                if end.last_sequence != file_sequence || end.final_hash != file_hash {
                    return Err(FileProblem::EndMismatch {
                        line,
                        end_sequence: end.last_sequence,
                        end_hash: end.final_hash,
                        file_sequence,
                        file_hash,
                    });
                }
                Ok(())
            }
        }
    }

    /// [`ExportVerifier::push`] for a transaction digested beforehand (see [`RecordDigest`]). Its
    /// postings are not tallied: add them with [`ExportVerifier::add_movements`].
    pub fn push_digest(&mut self, line: u64, digest: &RecordDigest) -> Result<(), FileProblem> {
        if self.end_seen {
            return Err(FileProblem::AfterEnd { line });
        }
        let chain = match &mut self.chain {
            Some(chain) => chain,
            None => {
                let (sequence, previous_hash) = match self.expected_start {
                    Some((sequence, Some(hash))) => (sequence, hash),
                    Some((1, None)) => (1, GENESIS_HASH),
                    Some((sequence, None)) => (sequence, digest.previous_hash),
                    None if digest.sequence == 1 => (1, GENESIS_HASH),
                    None => (digest.sequence, digest.previous_hash),
                };
                if let Some((expected_sequence, expected_previous_hash)) = self.expected_start
                    && (digest.sequence != expected_sequence
                        || digest.previous_hash != previous_hash)
                {
                    return Err(FileProblem::StartMismatch {
                        line,
                        expected_sequence,
                        expected_previous_hash: expected_previous_hash
                            .or((expected_sequence == 1).then_some(GENESIS_HASH)),
                        found_sequence: digest.sequence,
                        found_previous_hash: digest.previous_hash,
                    });
                }
                self.first = Some((sequence, previous_hash));
                if let Some((watched, kept)) = &mut self.watched
                    && watched.checked_add(1) == Some(sequence)
                {
                    *kept = Some(previous_hash);
                }
                self.chain
                    .insert(ChainVerifier::starting_at(sequence, previous_hash))
            }
        };
        chain
            .push_digest(digest)
            .map_err(|broken| FileProblem::Chain { line, broken })?;
        self.last = Some((digest.sequence, digest.hash));
        if let Some((watched, kept)) = &mut self.watched
            && *watched == digest.sequence
        {
            *kept = Some(digest.hash);
        }
        Ok(())
    }

    /// Tallies the postings of transactions checked with [`ExportVerifier::push_digest`].
    pub fn add_movements(&mut self, movements: Movements) {
        self.pending_movements.absorb(movements);
    }

    fn push_record(&mut self, line: u64, record: &JournalRecord) -> Result<(), FileProblem> {
        self.push_digest(line, &RecordDigest::of(record))?;
        self.pending_movements.add_record(record);
        Ok(())
    }

    /// Ends the file: it must have closed with its end record.
    pub fn finish(mut self) -> Result<ExportSummary, FileProblem> {
        if !self.end_seen {
            return Err(FileProblem::Truncated {
                after_sequence: self.last_sequence(),
            });
        }
        let mut trial_balance: BTreeMap<String, CurrencyTotals> = BTreeMap::new();
        let (transactions_count, postings_count) = match &mut self.chain {
            Some(chain) => {
                chain.add_movements(std::mem::take(&mut self.pending_movements));
                for ((_, currency), balance) in chain.balances() {
                    let totals = trial_balance
                        .entry(currency.clone())
                        .or_insert(CurrencyTotals {
                            accounts_count: 0,
                            debit_minor: 0,
                            credit_minor: 0,
                        });
                    totals.accounts_count += 1;
                    if balance > 0 {
                        totals.debit_minor += balance;
                    } else {
                        totals.credit_minor += balance;
                    }
                }
                (chain.transactions_count(), chain.postings_count())
            }
            None => (0, 0),
        };
        let last_sequence = self.last_sequence();
        Ok(ExportSummary {
            transactions_count,
            postings_count,
            first_sequence: self.first.map(|(sequence, _)| sequence),
            start_previous_hash: self.first.map(|(_, hash)| hash),
            last_sequence,
            final_hash: self.last.map(|(_, hash)| hash),
            trial_balance,
            watched_hash: self
                .watched
                .and_then(|(sequence, hash)| Some((sequence, hash?))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::tests::chain_of;

    fn render(format: ExportFormat, records: &[JournalRecord]) -> Vec<u8> {
        let mut writer = ExportWriter::new(format);
        let mut buffer = Vec::new();
        writer.write_start(&mut buffer);
        for record in records {
            writer.write_record(record, &mut buffer);
        }
        writer.write_end(&mut buffer);
        buffer
    }

    /// A minimal reader for the tests: lines for JSONL; for CSV, rows without embedded line breaks.
    fn verify_bytes(format: ExportFormat, bytes: &[u8]) -> Result<ExportSummary, FileProblem> {
        verify_bytes_with(ExportVerifier::new(), format, bytes)
    }

    fn verify_bytes_with(
        mut verifier: ExportVerifier,
        format: ExportFormat,
        bytes: &[u8],
    ) -> Result<ExportSummary, FileProblem> {
        let mut assembler = CsvAssembler::new();
        let text = std::str::from_utf8(bytes).unwrap();
        let ends_cleanly = text.ends_with('\n');
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            let number = index as u64 + 1;
            if index + 1 == lines.len() && !ends_cleanly {
                return Err(FileProblem::Truncated {
                    after_sequence: verifier.last_sequence(),
                });
            }
            let items = match format {
                ExportFormat::Jsonl => vec![Assembled {
                    line: number,
                    item: parse_jsonl_line(line.as_bytes()).map_err(|message| {
                        FileProblem::Malformed {
                            line: number,
                            after_sequence: verifier.last_sequence(),
                            message,
                        }
                    })?,
                    rows_problem: None,
                }],
                ExportFormat::Csv => {
                    let fields = split_simple_csv(line);
                    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
                    assembler.push_row(&fields, number, verifier.last_sequence())?
                }
            };
            for assembled in &items {
                assembled.verify_with(&mut verifier)?;
            }
        }
        if let Some(assembled) = assembler.finish() {
            assembled.verify_with(&mut verifier)?;
        }
        verifier.finish()
    }

    fn split_simple_csv(line: &str) -> Vec<String> {
        let mut fields = vec![String::new()];
        let mut quoted = false;
        let mut characters = line.chars().peekable();
        while let Some(character) = characters.next() {
            match (character, quoted) {
                ('"', false) => quoted = true,
                ('"', true) if characters.peek() == Some(&'"') => {
                    characters.next();
                    fields.last_mut().unwrap().push('"');
                }
                ('"', true) => quoted = false,
                (',', false) => fields.push(String::new()),
                (other, _) => fields.last_mut().unwrap().push(other),
            }
        }
        fields
    }

    #[test]
    fn both_formats_round_trip_and_verify() {
        // Proves a rendered export of an intact chain reads back to the same records and verifies,
        // with a trial balance that nets to zero, in both formats.
        let mut records = chain_of(5);
        records[2].memo = "a memo, with \"quotes\"".into();
        records[2].metadata = r#"{"a":1,"b":"x"}"#.into();
        records[2].hash = records[2].compute_hash();
        let mut previous = records[2].hash;
        for record in &mut records[3..] {
            record.previous_hash = previous;
            record.hash = record.compute_hash();
            previous = record.hash;
        }
        for format in [ExportFormat::Jsonl, ExportFormat::Csv] {
            let summary = verify_bytes(format, &render(format, &records)).unwrap();
            assert_eq!(summary.transactions_count, 5, "{format:?}");
            assert_eq!(summary.postings_count, 10);
            assert_eq!(summary.final_hash, Some(records[4].hash));
            assert_eq!(summary.first_sequence, Some(1));
            let euro = summary.trial_balance["EUR"];
            assert_eq!(euro.net_minor(), 0);
            assert_eq!(euro.debit_minor, 1500);
        }
    }

    #[test]
    fn an_empty_export_is_valid() {
        // Proves a range past the end (no transaction) renders an export that verifies as empty.
        for format in [ExportFormat::Jsonl, ExportFormat::Csv] {
            let summary = verify_bytes(format, &render(format, &[])).unwrap();
            assert_eq!(summary.transactions_count, 0);
            assert_eq!(summary.final_hash, None);
        }
    }

    #[test]
    fn a_range_verifies_and_can_be_pinned() {
        // Proves a range export verifies, when a range is asked for, from the previous hash in its
        // first record; that without it a file not starting at sequence 1 is refused; and that an
        // auditor can require it to start where the previous export ended.
        let records = chain_of(6);
        let bytes = render(ExportFormat::Jsonl, &records[3..]);
        assert!(matches!(
            verify_bytes(ExportFormat::Jsonl, &bytes),
            Err(FileProblem::StartMismatch {
                expected_sequence: 1,
                found_sequence: 4,
                ..
            })
        ));
        let summary = verify_bytes_with(
            ExportVerifier::expecting_start(4, None),
            ExportFormat::Jsonl,
            &bytes,
        )
        .unwrap();
        let pinned = verify_bytes_with(
            ExportVerifier::expecting_start(4, Some(records[2].hash)),
            ExportFormat::Jsonl,
            &bytes,
        );
        assert_eq!(
            pinned.as_ref().map(|summary| summary.first_sequence),
            Ok(Some(4))
        );
        assert_eq!(summary.first_sequence, Some(4));
        assert_eq!(summary.start_previous_hash, Some(records[2].hash));
        assert!(!summary.is_whole_chain());
        let mut pinned = ExportVerifier::expecting_start(1, None);
        let ExportItem::Record(first) =
            parse_jsonl_line(bytes.split(|b| *b == b'\n').next().unwrap()).unwrap()
        else {
            panic!("a record");
        };
        let problem = pinned.push(1, &ExportItem::Record(first)).unwrap_err();
        assert!(matches!(
            problem,
            FileProblem::StartMismatch {
                found_sequence: 4,
                ..
            }
        ));
    }

    #[test]
    fn truncation_and_dropped_last_records_are_named() {
        // Proves a file cut short (with or without a partial line) and a file whose last
        // transaction was removed are reported with the sequence where they stop.
        let records = chain_of(4);
        for format in [ExportFormat::Jsonl, ExportFormat::Csv] {
            let bytes = render(format, &records);
            let cut = &bytes[..bytes.len() * 2 / 3];
            let problem = verify_bytes(format, cut).unwrap_err();
            assert!(
                matches!(
                    problem,
                    FileProblem::Truncated { .. } | FileProblem::RowsDisagree { .. }
                ),
                "{format:?} {problem}"
            );
            let text = String::from_utf8(bytes).unwrap();
            let mut lines: Vec<&str> = text.lines().collect();
            let end = lines.pop().unwrap();
            let without_end = lines.join("\n") + "\n";
            let problem = verify_bytes(format, without_end.as_bytes()).unwrap_err();
            assert_eq!(
                problem,
                FileProblem::Truncated {
                    after_sequence: Some(4)
                }
            );
            lines.pop();
            if format == ExportFormat::Csv {
                lines.pop();
            }
            let dropped = lines.join("\n") + "\n" + end + "\n";
            let problem = verify_bytes(format, dropped.as_bytes()).unwrap_err();
            assert!(
                matches!(
                    problem,
                    FileProblem::EndMismatch {
                        end_sequence: Some(4),
                        file_sequence: Some(3),
                        ..
                    }
                ),
                "{problem}"
            );
        }
    }

    #[test]
    fn a_file_is_checked_against_a_signed_head_at_its_sequence() {
        // Proves the head check: the chain hash after the head's sequence must be the head's hash
        // (at the file's end, in its middle, or genesis for 0); a file that stops before the head
        // or holds another history there is refused.
        let records = chain_of(5);
        let bytes = render(ExportFormat::Csv, &records);
        let watched = |sequence| {
            verify_bytes_with(
                ExportVerifier::new().watching(sequence),
                ExportFormat::Csv,
                &bytes,
            )
            .unwrap()
        };
        assert_eq!(watched(5).check_head(5, records[4].hash), Ok(()));
        assert_eq!(watched(2).check_head(2, records[1].hash), Ok(()));
        assert_eq!(watched(0).check_head(0, GENESIS_HASH), Ok(()));
        assert!(matches!(
            watched(2).check_head(2, records[2].hash),
            Err(HeadMismatch::Differs { sequence: 2, .. })
        ));
        assert!(matches!(
            watched(6).check_head(6, records[4].hash),
            Err(HeadMismatch::NotReached { sequence: 6, .. })
        ));
        // A range's start hash is the head of the sequence before it.
        let range = render(ExportFormat::Csv, &records[2..]);
        let summary = verify_bytes_with(
            ExportVerifier::expecting_start(3, None).watching(2),
            ExportFormat::Csv,
            &range,
        )
        .unwrap();
        assert_eq!(summary.check_head(2, records[1].hash), Ok(()));
    }

    #[test]
    fn values_have_one_spelling() {
        // Proves the strict readers: upper-case or unhyphenated UUIDs, upper-case hex and
        // non-canonical integers are refused, in JSONL lines and in CSV values alike; and a JSON
        // key given twice or unknown is refused.
        let records = chain_of(1);
        let line = render(ExportFormat::Jsonl, &records);
        let line = std::str::from_utf8(&line)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned();
        assert!(parse_jsonl_line(line.as_bytes()).is_ok());
        let id = records[0].postings[0].account_id.to_string();
        let hash = records[0].hash.to_hex();
        for changed in [
            line.replace(&id, &id.to_uppercase()),
            line.replace(&id, &id.replace('-', "")),
            line.replace(&hash, &hash.to_uppercase()),
            line.replace("\"memo\":", "\"memo\":\"x\",\"memo\":"),
            line.replace("\"memo\":", "\"note\":1,\"memo\":"),
        ] {
            assert_ne!(changed, line);
            assert!(parse_jsonl_line(changed.as_bytes()).is_err(), "{changed}");
        }
        assert!(parse_jsonl_line(br#"{"export_end":{"last_sequence":null}}"#).is_err());
        assert!(
            parse_jsonl_line(br#"{"export_end":{"last_sequence":null,"final_hash":null}}"#).is_ok()
        );
        for (text, value) in [
            ("0", Some(0)),
            ("10", Some(10)),
            ("01", None),
            ("+1", None),
            ("-0", None),
            (" 1", None),
            ("", None),
        ] {
            assert_eq!(parse_u64(text).ok(), value, "{text}");
        }
        for (text, ok) in [
            ("-5", true),
            ("0", true),
            ("-0", false),
            ("+5", false),
            ("-05", false),
        ] {
            let mut fields = [""; 17];
            fields[11] = "0";
            fields[12] = "00000000-0000-0000-0000-000000000001";
            fields[14] = text;
            assert_eq!(parse_posting(&fields).is_ok(), ok, "{text}");
        }
    }

    #[test]
    fn malformed_lines_are_errors_not_panics() {
        // Proves garbage, wrong types and wrong column counts are reported with their line.
        for line in ["", "{", "[]", "{\"sequence\":\"x\"}", "null", "\u{0}"] {
            assert!(parse_jsonl_line(line.as_bytes()).is_err(), "{line:?}");
        }
        let mut assembler = CsvAssembler::new();
        assert!(matches!(
            assembler.push_row(&["a", "b"], 1, None),
            Err(FileProblem::Malformed { line: 1, .. })
        ));
        let mut assembler = CsvAssembler::new();
        assembler.push_row(&CSV_COLUMNS, 1, None).unwrap();
        let mut row = [""; 17];
        row[0] = "posting";
        row[1] = "1x";
        assert!(matches!(
            assembler.push_row(&row, 2, None),
            Err(FileProblem::Malformed { line: 2, .. })
        ));
    }
}
