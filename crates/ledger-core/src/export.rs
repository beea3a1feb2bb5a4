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

// Long file: the export format the service writes (SLJ1 transactions, the SLJ2 accounts section in
// both formats) and its pinned known-answer tests stay together; the code itself is under 750 lines.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::chain::{ChainHash, GENESIS_HASH, JournalRecord, RecordPosting};
use crate::chart::account_id_for_code;
use crate::journal::Account;

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
/// The `row` value of an account row of a CSV `SLJ2` export's accounts section.
pub const CSV_ACCOUNT_ROW: &str = "account";
/// The `row` value of the row closing a CSV `SLJ2` accounts section: the encoding (`SLJ2`, in
/// the `kind` column) and the section's hash (in the `hash` column).
pub const CSV_ACCOUNTS_ROW: &str = "accounts";

/// Where an account row of a CSV `SLJ2` export puts each field of its account (indexes into
/// [`CSV_COLUMNS`]); every other column of the row is empty. `docs/hash-chain.md` ("Version 2")
/// has the same table.
/// In the order of the section's encoding: id (`account_id`), code (`metadata`), name (`memo`),
/// kind (`kind`), currency (`currency`), owner (`actor_organisation`).
pub const CSV_ACCOUNT_FIELDS: [(usize, &str); 6] = [
    (12, "id"),
    (9, "code"),
    (8, "name"),
    (3, "kind"),
    (13, "currency"),
    (7, "owner"),
];
/// The columns of the row closing a CSV `SLJ2` accounts section: `kind` holds the encoding,
/// `hash` the section's hash.
const CSV_ACCOUNTS_ENCODING: usize = 3;
const CSV_ACCOUNTS_HASH: usize = 16;

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
/// no transaction (a range past the end of the journal). An `SLJ2` export's end record also
/// carries its accounts section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportEnd {
    pub last_sequence: Option<u64>,
    pub final_hash: Option<ChainHash>,
    /// The accounts section (`SLJ2`); `None` in an `SLJ1` file.
    pub accounts: Option<AccountsSection>,
}

/// The magic of the accounts section's encoding (`docs/hash-chain.md`, "Version 2"): an export
/// whose end record carries the section is an `SLJ2` export.
pub const ENCODING_V2_MAGIC: &[u8; 4] = b"SLJ2";
/// The value of the JSONL end record's `encoding` key in an `SLJ2` export.
pub const ENCODING_V2: &str = "SLJ2";

/// One account as an export's accounts section names it: what an auditor needs to say what a
/// posting's `account_id` is. Texts exactly as stored; `owner` is the owning organisation's
/// UUID, lower-case with hyphens, or empty for the fund's own accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportAccount {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub currency: String,
    pub owner: String,
}

impl ExportAccount {
    pub fn of(account: &Account) -> ExportAccount {
        ExportAccount {
            id: account.id.as_uuid(),
            code: account.code.as_str().to_owned(),
            name: account.name.clone(),
            kind: account.kind.as_str().to_owned(),
            currency: account.currency.code().to_owned(),
            owner: account
                .owner_organisation
                .map(|owner| owner.as_uuid().to_string())
                .unwrap_or_default(),
        }
    }
}

/// The accounts section of an `SLJ2` export: every account of the chart in ascending id order,
/// and its hash, chained onto the export's final hash ([`accounts_hash`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountsSection {
    pub accounts: Vec<ExportAccount>,
    /// The hash the file states (which a verifier recomputes).
    pub hash: ChainHash,
}

impl AccountsSection {
    /// How many accounts have the id derived from their code ([`account_id_for_code`]): all of
    /// the fund's chart; an auditor can recompute each from the documents alone.
    pub fn derived_ids_count(&self) -> u64 {
        self.accounts
            .iter()
            .filter(|account| account_id_for_code(&account.code).as_uuid() == account.id)
            .count() as u64
    }
}

fn push_text(text: &str, buffer: &mut Vec<u8>) {
    // Texts of the ledger are far below 4 GiB (their limits are in `limits`); a longer one could
    // not be written by the ledger, and saturating keeps this total.
    let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
    buffer.extend_from_slice(&length.to_be_bytes());
    buffer.extend_from_slice(text.as_bytes());
}

/// The encoding of an accounts section (`docs/hash-chain.md`, "Version 2"): `SLJ2`, the number
/// of accounts (4 bytes, big-endian), then each account in the given order: its id's 16 bytes,
/// then `code`, `name`, `kind`, `currency` and `owner` as texts (4-byte length, UTF-8 bytes).
pub fn encode_accounts(accounts: &[ExportAccount]) -> Vec<u8> {
    let mut buffer = Vec::with_capacity(8 + accounts.len() * 160);
    buffer.extend_from_slice(ENCODING_V2_MAGIC);
    let count = u32::try_from(accounts.len()).unwrap_or(u32::MAX);
    buffer.extend_from_slice(&count.to_be_bytes());
    for account in accounts {
        buffer.extend_from_slice(account.id.as_bytes());
        for text in [
            &account.code,
            &account.name,
            &account.kind,
            &account.currency,
            &account.owner,
        ] {
            push_text(text, &mut buffer);
        }
    }
    buffer
}

/// The hash of an accounts section: `SHA-256(chain_end ‖ encode_accounts(accounts))`, where
/// `chain_end` is the export's final hash (32 zero bytes for an export without transactions).
/// Chained onto the final hash, a section cannot be moved from one export to another.
pub fn accounts_hash(final_hash: Option<ChainHash>, accounts: &[ExportAccount]) -> ChainHash {
    let mut hasher = Sha256::new();
    hasher.update(final_hash.unwrap_or(GENESIS_HASH).as_bytes());
    hasher.update(encode_accounts(accounts));
    ChainHash::from_bytes(hasher.finalize().into())
}

/// The JSONL form of an `SLJ1` end record: `{"export_end":{...}}`.
#[derive(Serialize)]
struct JsonlEnd {
    export_end: JsonlEndWritten,
}

#[derive(Serialize)]
struct JsonlEndWritten {
    last_sequence: Option<u64>,
    final_hash: Option<ChainHash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accounts: Option<Vec<JsonlAccountWritten>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accounts_hash: Option<ChainHash>,
}

/// An account as a JSONL end record writes it (the id hyphenated, lower case).
#[derive(Serialize)]
struct JsonlAccountWritten {
    id: String,
    code: String,
    name: String,
    kind: String,
    currency: String,
    owner: String,
}

/// Renders records into export bytes, remembering the last one for the end record.
#[derive(Debug, Clone)]
pub struct ExportWriter {
    format: ExportFormat,
    last_sequence: Option<u64>,
    final_hash: Option<ChainHash>,
    /// The accounts section to close the file with (`SLJ2`), in ascending id order.
    accounts: Option<Vec<ExportAccount>>,
}

impl ExportWriter {
    /// A writer of an `SLJ1` export (no accounts section).
    pub fn new(format: ExportFormat) -> ExportWriter {
        ExportWriter {
            format,
            last_sequence: None,
            final_hash: None,
            accounts: None,
        }
    }

    /// An `SLJ2` export: the end record names `accounts` (every account of the chart, read after
    /// the chain head that fixes the export's end, so every posting's account is among them).
    /// Both formats: JSON Lines in the end record, CSV in account rows before the end row.
    pub fn with_accounts(self, accounts: &[Account]) -> ExportWriter {
        self.with_section(accounts.iter().map(ExportAccount::of).collect())
    }

    /// [`ExportWriter::with_accounts`] from the section's rows themselves (sorted here by id,
    /// each id once).
    pub fn with_section(mut self, mut section: Vec<ExportAccount>) -> ExportWriter {
        section.sort_by_key(|account| account.id);
        section.dedup_by_key(|account| account.id);
        self.accounts = Some(section);
        self
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
        self.last_sequence = Some(record.sequence);
        self.final_hash = Some(record.hash);
    }

    /// Appends the end record; nothing may follow it.
    pub fn write_end(&self, buffer: &mut Vec<u8>) {
        match self.format {
            ExportFormat::Jsonl => {
                let end = JsonlEnd {
                    export_end: JsonlEndWritten {
                        last_sequence: self.last_sequence,
                        final_hash: self.final_hash,
                        encoding: self.accounts.as_ref().map(|_| ENCODING_V2),
                        accounts: self.accounts.as_ref().map(|accounts| {
                            accounts
                                .iter()
                                .map(|account| JsonlAccountWritten {
                                    id: account.id.to_string(),
                                    code: account.code.clone(),
                                    name: account.name.clone(),
                                    kind: account.kind.clone(),
                                    currency: account.currency.clone(),
                                    owner: account.owner.clone(),
                                })
                                .collect()
                        }),
                        accounts_hash: self
                            .accounts
                            .as_ref()
                            .map(|accounts| accounts_hash(self.final_hash, accounts)),
                    },
                };
                if serde_json::to_writer(&mut *buffer, &end).is_ok() {
                    buffer.push(b'\n');
                }
            }
            ExportFormat::Csv => {
                if let Some(accounts) = &self.accounts {
                    write_csv_section(accounts, self.final_hash, buffer);
                }
                let last_sequence = self
                    .last_sequence
                    .map(|sequence| sequence.to_string())
                    .unwrap_or_default();
                let final_hash = self
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

/// The accounts section of a CSV `SLJ2` export: one account row per account (in the section's
/// order, the fields where [`CSV_ACCOUNT_FIELDS`] puts them), then the row closing it.
fn write_csv_section(
    accounts: &[ExportAccount],
    final_hash: Option<ChainHash>,
    buffer: &mut Vec<u8>,
) {
    for account in accounts {
        let id = account.id.to_string();
        let mut fields = [""; CSV_COLUMNS.len()];
        fields[0] = CSV_ACCOUNT_ROW;
        // In the order of CSV_ACCOUNT_FIELDS (and of the section's encoding).
        let values = [
            id.as_str(),
            &account.code,
            &account.name,
            &account.kind,
            &account.currency,
            &account.owner,
        ];
        for ((column, _), value) in CSV_ACCOUNT_FIELDS.iter().zip(values) {
            fields[*column] = value;
        }
        write_csv_row(&fields, buffer);
    }
    let hash = accounts_hash(final_hash, accounts).to_hex();
    let mut fields = [""; CSV_COLUMNS.len()];
    fields[0] = CSV_ACCOUNTS_ROW;
    fields[CSV_ACCOUNTS_ENCODING] = ENCODING_V2;
    fields[CSV_ACCOUNTS_HASH] = &hash;
    write_csv_row(&fields, buffer);
}

/// The first column of `fields` (a CSV row of an accounts section) that must be empty and is not.
fn filled_column(fields: &[&str], allowed: &[usize]) -> Option<usize> {
    (1..fields.len()).find(|column| {
        !allowed.contains(column) && fields.get(*column).is_some_and(|field| !field.is_empty())
    })
}

/// Reads an account row of a CSV `SLJ2` export (its 17 fields, `row` = `account`): the account
/// where [`CSV_ACCOUNT_FIELDS`] puts its fields, the id (and a non-empty owner) with their one
/// spelling, every other column empty.
pub fn parse_csv_account_row(fields: &[&str]) -> Result<ExportAccount, String> {
    if fields.len() != CSV_COLUMNS.len() {
        return Err(format!("{} fields, an export row has 17", fields.len()));
    }
    let columns = CSV_ACCOUNT_FIELDS.map(|(column, _)| column);
    if let Some(column) = filled_column(fields, &columns) {
        return Err(format!(
            "an account row has `{}`; only the account's columns are filled on it",
            CSV_COLUMNS[column]
        ));
    }
    let [id, code, name, kind, currency, owner] = columns.map(|column| fields[column]);
    if !owner.is_empty() {
        uuid_field(owner, "owner")?;
    }
    Ok(ExportAccount {
        id: uuid_field(id, "account_id")?,
        code: code.to_owned(),
        name: name.to_owned(),
        kind: kind.to_owned(),
        currency: currency.to_owned(),
        owner: owner.to_owned(),
    })
}

/// Reads the row closing a CSV `SLJ2` accounts section (`row` = `accounts`): `kind` must be
/// `SLJ2`; returns the section hash it states (`hash`). Every other column is empty.
pub fn parse_csv_accounts_row(fields: &[&str]) -> Result<ChainHash, String> {
    if fields.len() != CSV_COLUMNS.len() {
        return Err(format!("{} fields, an export row has 17", fields.len()));
    }
    if let Some(column) = filled_column(fields, &[CSV_ACCOUNTS_ENCODING, CSV_ACCOUNTS_HASH]) {
        return Err(format!(
            "the `accounts` row has `{}`; only `kind` (the encoding) and `hash` are filled on it",
            CSV_COLUMNS[column]
        ));
    }
    let encoding = fields[CSV_ACCOUNTS_ENCODING];
    if encoding != ENCODING_V2 {
        return Err(format!(
            "the `accounts` row's encoding (`kind`) `{encoding}` is not `{ENCODING_V2}`"
        ));
    }
    hash_field(fields[CSV_ACCOUNTS_HASH], "hash")
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
/// field would read a missing key as `null`. The three keys of `SLJ2` come together or not at
/// all ([`parse_jsonl_line`] checks).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonlEndFields {
    #[serde(deserialize_with = "Option::deserialize")]
    last_sequence: Option<u64>,
    #[serde(deserialize_with = "Option::deserialize")]
    final_hash: Option<String>,
    #[serde(default, deserialize_with = "present")]
    encoding: Option<String>,
    #[serde(default, deserialize_with = "present")]
    accounts: Option<Vec<JsonlAccount>>,
    #[serde(default, deserialize_with = "present")]
    accounts_hash: Option<String>,
}

/// An optional key that, when present, holds a value: absent is `None`, `null` is an error (so
/// `"encoding":null` is malformed, not an `SLJ1` end record).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// An account of an `SLJ2` end record as JSON reads it: exactly these keys, each once.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonlAccount {
    id: String,
    code: String,
    name: String,
    kind: String,
    currency: String,
    owner: String,
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
            Ok(end) => Ok(ExportItem::End(parse_end(end.export_end)?)),
            Err(_) => Err(record_error.to_string()),
        },
    }
}

/// The end record's values, each with its one spelling; an `SLJ2` section's accounts with
/// canonical ids and owners.
fn parse_end(end: JsonlEndFields) -> Result<ExportEnd, String> {
    let final_hash = end
        .final_hash
        .map(|hash| hash_field(&hash, "final_hash"))
        .transpose()?;
    let accounts = match (end.encoding, end.accounts, end.accounts_hash) {
        (None, None, None) => None,
        (Some(encoding), Some(accounts), Some(hash)) => {
            if encoding != ENCODING_V2 {
                return Err(format!("`encoding` `{encoding}` is not `{ENCODING_V2}`"));
            }
            let mut section = Vec::with_capacity(accounts.len());
            for account in accounts {
                if !account.owner.is_empty() {
                    uuid_field(&account.owner, "owner")?;
                }
                section.push(ExportAccount {
                    id: uuid_field(&account.id, "id")?,
                    code: account.code,
                    name: account.name,
                    kind: account.kind,
                    currency: account.currency,
                    owner: account.owner,
                });
            }
            Some(AccountsSection {
                accounts: section,
                hash: hash_field(&hash, "accounts_hash")?,
            })
        }
        _ => {
            return Err(
                "an `SLJ2` end record has `encoding`, `accounts` and `accounts_hash` together"
                    .to_owned(),
            );
        }
    };
    Ok(ExportEnd {
        last_sequence: end.last_sequence,
        final_hash,
        accounts,
    })
}

/// What is wrong with an accounts section read from a file, checked in this order: ids in
/// strictly ascending order (so each account once), then the section's hash chained onto the
/// file's final hash. Whether each id is derived from its code is reported, not required
/// ([`AccountsSection::derived_ids_count`]): a store may hold accounts opened with other ids.
pub fn check_accounts_section(
    final_hash: Option<ChainHash>,
    section: &AccountsSection,
) -> Result<(), String> {
    for pair in section.accounts.windows(2) {
        if pair[0].id >= pair[1].id {
            return Err(format!(
                "the accounts section is not in strictly ascending id order at account {} (each account once, by id)",
                pair[1].id
            ));
        }
    }
    let computed = accounts_hash(final_hash, &section.accounts);
    if computed != section.hash {
        return Err(format!(
            "the accounts section hashes to {computed}, but the end record states {}: an account was changed, added or removed",
            section.hash
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank() -> ExportAccount {
        ExportAccount {
            id: account_id_for_code("fund:bank:eur").as_uuid(),
            code: "fund:bank:eur".into(),
            name: "Fund bank account (EUR)".into(),
            kind: "asset".into(),
            currency: "EUR".into(),
            owner: String::new(),
        }
    }

    fn worked_final_hash() -> ChainHash {
        ChainHash::from_hex_bytes(
            b"3654c1cc4a0402b045ba18ddbb01c9d05f251b8491ac4c45ea1e2e1c9c70ffef",
        )
        .unwrap()
    }

    #[test]
    fn the_accounts_section_encoding_is_pinned() {
        // Proves the SLJ2 section's encoding and hash are the ones docs/hash-chain.md documents
        // (computed there independently in Python), and that the fund's bank account's id is
        // the documented UUIDv5 of its code.
        let account = bank();
        assert_eq!(
            account.id.to_string(),
            "3a710641-fab2-5cbf-89f9-d601c1eb796d"
        );
        assert_eq!(
            accounts_hash(Some(worked_final_hash()), &[account]).to_hex(),
            "be2625925cdfda3ff5f9fb6586a7c22a99b63f2f4b153dc666085194ec456ed4"
        );
    }

    #[test]
    fn an_slj2_end_record_round_trips_and_its_section_is_checked() {
        // Proves the writer's SLJ2 end record reads back to the same section, that the section
        // verifies onto its final hash, that an altered or reordered section, or a section moved
        // onto another final hash, is refused, and that ids not derived from their codes are
        // counted.
        let mut owned = bank();
        owned.code = "fund:pool".into();
        owned.id = account_id_for_code("fund:pool").as_uuid();
        owned.owner = Uuid::from_u128(0xe).to_string();
        let writer = ExportWriter::new(ExportFormat::Jsonl).with_section(vec![owned, bank()]);
        let mut bytes = Vec::new();
        writer.write_end(&mut bytes);
        let ExportItem::End(end) = parse_jsonl_line(bytes.trim_ascii_end()).unwrap() else {
            panic!("an end record");
        };
        let section = end.accounts.unwrap();
        assert_eq!(section.accounts.len(), 2);
        assert!(section.accounts[0].id < section.accounts[1].id);
        assert_eq!(check_accounts_section(None, &section), Ok(()));
        assert!(check_accounts_section(Some(worked_final_hash()), &section).is_err());
        let mut renamed = section.clone();
        renamed.accounts[0].name.push('!');
        assert!(check_accounts_section(None, &renamed).is_err());
        let mut reversed = section.clone();
        reversed.accounts.reverse();
        reversed.hash = accounts_hash(None, &reversed.accounts);
        assert!(check_accounts_section(None, &reversed).is_err());
        assert_eq!(section.derived_ids_count(), 2);
        let mut recoded = section.clone();
        recoded.accounts[0].code.push('x');
        assert_eq!(recoded.derived_ids_count(), 1);
        // An SLJ1 writer's end record has no section.
        let mut plain = Vec::new();
        ExportWriter::new(ExportFormat::Jsonl).write_end(&mut plain);
        assert_eq!(
            plain,
            b"{\"export_end\":{\"last_sequence\":null,\"final_hash\":null}}\n"
        );
    }

    #[test]
    fn a_csv_slj2_section_is_written_and_read_as_documented() {
        // Proves the CSV writer's SLJ2 section: one account row per account with its fields in
        // the documented columns, then the `accounts` row stating SLJ2 and the same section hash
        // as the JSONL end record (one definition), then the SLJ1 end row; the row readers read
        // it back and refuse a filled foreign column, another encoding and a non-canonical owner.
        let mut bytes = Vec::new();
        ExportWriter::new(ExportFormat::Csv)
            .with_section(vec![bank()])
            .write_end(&mut bytes);
        let hash = accounts_hash(None, &[bank()]).to_hex();
        let expected = format!(
            "account,,,asset,,,,,Fund bank account (EUR),fund:bank:eur,,,{},EUR,,,\r\naccounts,,,SLJ2,,,,,,,,,,,,,{hash}\r\nend,,,,,,,,,,,,,,,,\r\n",
            bank().id
        );
        assert_eq!(String::from_utf8(bytes).unwrap(), expected);
        let rows: Vec<Vec<&str>> = expected
            .split_terminator("\r\n")
            .map(|row| row.split(',').collect())
            .collect();
        assert_eq!(parse_csv_account_row(&rows[0]), Ok(bank()));
        assert_eq!(
            parse_csv_accounts_row(&rows[1]).map(|hash| hash.to_hex()),
            Ok(hash)
        );
        let mut filled = rows[0].clone();
        filled[1] = "1";
        assert!(parse_csv_account_row(&filled).is_err());
        let mut owned = rows[0].clone();
        let upper = Uuid::from_u128(0xe).to_string().to_uppercase();
        owned[7] = &upper;
        assert!(parse_csv_account_row(&owned).is_err());
        let mut unknown = rows[1].clone();
        unknown[3] = "SLJ3";
        assert!(parse_csv_accounts_row(&unknown).is_err());
        let mut extra = rows[1].clone();
        extra[1] = "5";
        assert!(parse_csv_accounts_row(&extra).is_err());
    }
}
