//! Auditors' export files of the journal (JSON Lines and CSV): the format's one encoding.
//!
//! An export carries every field the hash chain covers, plus each transaction's sequence, previous
//! hash and hash, so the file alone proves (or disproves) that nothing was changed, dropped, added
//! or reordered. Both formats close with an *end record* naming the last sequence and final hash:
//! a file cut short (a truncated download, a dropped last line) lacks it or disagrees with it.
//!
//! This module is pure: it renders records into byte buffers, and reads one JSONL line back with
//! the format's one spelling of each value; the callers read and write files and sockets. Reading
//! whole files back and verifying them offline is the `ledger-verify` crate's. The file layout is
//! specified in `docs/hash-chain.md` ("Export files"), which `tools/verify_export.py` follows
//! independently.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::chain::{ChainHash, JournalRecord, RecordPosting};

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
