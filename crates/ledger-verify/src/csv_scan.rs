//! A fast reader of CSV export files exactly as the ledger writes them, for verifying a file on
//! several threads: the file is cut into blocks of whole transactions ([`transaction_cut`]), and each
//! block is read, hashed and tallied on its own ([`CsvBlockScanner::scan`]).
//!
//! It accepts only strict RFC 4180 rows (`\r\n` after every row, quotes only around whole fields)
//! laid out as [`ledger_core::export::ExportWriter`] writes them: the header, transactions whose rows
//! agree and count their postings from 0, and the end row. For anything else it answers `None`,
//! and the caller verifies the whole file again with the general reader ([`read_general_row`],
//! the strict row reader of `docs/hash-chain.md`, and [`crate::csv_rows::CsvAssembler`]), which
//! names the problem. So on the files it accepts it must read exactly what the general reader
//! reads: the tests compare the two on written and damaged files.

use std::ops::Range;

use memchr::{memchr, memchr2, memchr3};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use ledger_core::chain::{ChainHash, ENCODING_V1_MAGIC, Movements, RecordDigest, first_unbalanced};
use ledger_core::export::{
    CSV_ACCOUNT_ROW, CSV_ACCOUNTS_ROW, CSV_COLUMNS, CSV_END_ROW, CSV_POSTING_ROW, ExportAccount,
    ExportEnd, parse_csv_account_row, parse_csv_accounts_row,
};

use crate::jsonl_scan::{canonical_i64, canonical_u64};

const COLUMNS: usize = CSV_COLUMNS.len();
/// Column indexes, as in [`CSV_COLUMNS`].
const ROW: usize = 0;
const SEQUENCE: usize = 1;
const TRANSACTION_ID: usize = 2;
/// `kind` to `metadata`: the texts the encoding carries, in its order.
const TEXTS: Range<usize> = 3..10;
const POSTING_COUNT: usize = 10;
const POSTING_INDEX: usize = 11;
const ACCOUNT_ID: usize = 12;
const CURRENCY: usize = 13;
const AMOUNT_MINOR: usize = 14;
const PREVIOUS_HASH: usize = 15;
const HASH: usize = 16;
/// The columns every row of one transaction repeats.
const REPEATED: [Range<usize>; 2] = [1..11, 15..17];

/// One row, its fields unquoted into `bytes`.
#[derive(Debug, Default, Clone)]
struct Row {
    bytes: Vec<u8>,
    fields: [Range<usize>; COLUMNS],
    /// Where each field was in the block, as written (quotes included, separators not).
    raw: [Range<usize>; COLUMNS],
}

impl Row {
    fn field(&self, column: usize) -> &[u8] {
        &self.bytes[self.fields[column].clone()]
    }

    /// Every field as text (the row was checked to be UTF-8 as a whole); for the few rows of an
    /// accounts section.
    fn texts(&self) -> Option<Vec<&str>> {
        self.fields
            .iter()
            .map(|range| std::str::from_utf8(&self.bytes[range.clone()]).ok())
            .collect()
    }

    /// The bytes of a run of columns, end to end.
    fn span(&self, columns: &Range<usize>) -> &[u8] {
        &self.bytes[self.fields[columns.start].start..self.fields[columns.end - 1].end]
    }

    /// Whether this row repeats `first`'s transaction columns. Fields sit end to end in `bytes`,
    /// so each run of columns is compared as one slice, once every field's length matched.
    fn repeats(&self, first: &Row) -> bool {
        REPEATED.iter().all(|columns| {
            let lengths_match = columns
                .clone()
                .all(|column| self.fields[column].len() == first.fields[column].len());
            lengths_match && self.span(columns) == first.span(columns)
        })
    }
}

/// The transaction being read: its first row, its encoding so far, its postings (the currency as
/// where its text sits in the encoding). Its buffers are reused from one transaction to the next.
#[derive(Debug, Default)]
struct Open {
    active: bool,
    line: u64,
    first: Row,
    declared: usize,
    encoding: Vec<u8>,
    postings: Vec<(Uuid, Range<usize>, i64)>,
    /// The first row's repeated columns as written: `sequence` to `posting_count`, and the two
    /// hashes; a later row that repeats them byte for byte needs only its own columns read.
    repeated_raw: Vec<u8>,
    hashes_raw: Vec<u8>,
    /// Line breaks inside those two runs.
    repeated_breaks: u64,
}

impl Open {
    /// Closes the open transaction, if any: all its declared postings must have come.
    fn complete(&mut self, scanned: &mut ScannedBlock) -> Option<()> {
        let open = self;
        if !open.active {
            return Some(());
        }
        open.active = false;
        if open.postings.len() != open.declared {
            return None;
        }
        let previous_hash = hash(open.first.field(PREVIOUS_HASH))?;
        let mut hasher = Sha256::new();
        hasher.update(previous_hash.as_bytes());
        hasher.update(&open.encoding);
        // The whole row was checked to be UTF-8, and the currency is a whole field of it.
        let encoding = &open.encoding;
        let currency_of = |range: &Range<usize>| std::str::from_utf8(&encoding[range.clone()]).ok();
        let mut amounts = Vec::with_capacity(open.postings.len());
        for (_, currency, amount_minor) in &open.postings {
            amounts.push((currency_of(currency)?, *amount_minor));
        }
        let digest = RecordDigest {
            sequence: canonical_u64(open.first.field(SEQUENCE))?,
            previous_hash,
            hash: hash(open.first.field(HASH))?,
            computed: ChainHash::from_bytes(hasher.finalize().into()),
            postings_count: u64::try_from(open.declared).ok()?,
            unbalanced: first_unbalanced(amounts.iter().copied()),
        };
        for (account_id, currency, amount_minor) in &open.postings {
            scanned.movements.add(
                *account_id,
                currency_of(currency)?,
                i128::from(*amount_minor),
            );
        }
        scanned.items.push((open.line, ScannedItem::Record(digest)));
        Some(())
    }
}

/// One thing a block holds, in file order: a transaction, a row of an `SLJ2` accounts section,
/// or the end record. The section's rows are put together with the end record by the caller,
/// which reads the blocks in order (a section may span two blocks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannedItem {
    Record(RecordDigest),
    /// An `account` row.
    Account(ExportAccount),
    /// The `accounts` row closing the section, with the section hash it states.
    SectionEnd(ChainHash),
    End(ExportEnd),
}

/// What a block holds: each transaction's digest, the accounts section's rows and the end record,
/// each with the line of its first row, and the movements of all its postings.
#[derive(Debug, Default)]
pub struct ScannedBlock {
    pub items: Vec<(u64, ScannedItem)>,
    pub movements: Movements,
    /// The lines the block spans (rows, and line breaks inside quoted fields).
    pub lines: u64,
}

/// Buffers reused from one block to the next.
#[derive(Debug, Default)]
pub struct CsvBlockScanner {
    row: Row,
    open: Open,
}

impl CsvBlockScanner {
    /// Reads a block of whole rows that starts a transaction (or the file, with its header, when
    /// `starts_file`) and ends one; its first row is on line `first_line`. `None` when anything in
    /// it is not laid out as the ledger writes it.
    pub fn scan(
        &mut self,
        block: &[u8],
        first_line: u64,
        starts_file: bool,
    ) -> Option<ScannedBlock> {
        let mut scanned = ScannedBlock::default();
        let mut at = 0;
        let mut line = first_line;
        self.open.active = false;
        if starts_file {
            let header = CSV_COLUMNS.join(",") + "\r\n";
            if !block.starts_with(header.as_bytes()) {
                return None;
            }
            at = header.len();
            line += 1;
        }
        let mut ended = false;
        while at < block.len() {
            if ended {
                return None;
            }
            if let Some((next, breaks)) = self.continue_open(block, at) {
                add_posting(&mut self.open, &self.row)?;
                at = next;
                line += breaks + 1;
                continue;
            }
            let (next, breaks) = read_row(block, at, &mut self.row)?;
            let row_type = self.row.field(ROW);
            if row_type == CSV_POSTING_ROW.as_bytes() {
                self.posting(block, line, &mut scanned)?;
            } else if row_type == CSV_END_ROW.as_bytes() {
                self.open.complete(&mut scanned)?;
                scanned
                    .items
                    .push((line, ScannedItem::End(end_of(&self.row)?)));
                ended = true;
            } else if row_type == CSV_ACCOUNT_ROW.as_bytes() {
                self.open.complete(&mut scanned)?;
                let account = parse_csv_account_row(&self.row.texts()?).ok()?;
                scanned.items.push((line, ScannedItem::Account(account)));
            } else if row_type == CSV_ACCOUNTS_ROW.as_bytes() {
                self.open.complete(&mut scanned)?;
                let hash = parse_csv_accounts_row(&self.row.texts()?).ok()?;
                scanned.items.push((line, ScannedItem::SectionEnd(hash)));
            } else {
                return None;
            }
            at = next;
            line += breaks + 1;
        }
        self.open.complete(&mut scanned)?;
        scanned.lines = line - first_line;
        Some(scanned)
    }

    /// The next row when it is a posting row of the open transaction that repeats the first
    /// row's columns byte for byte: only its own four columns are read (into `self.row`). `None`
    /// sends the row to the full reader. Returns where the next row starts and the row's line
    /// breaks inside quotes.
    fn continue_open(&mut self, block: &[u8], at: usize) -> Option<(usize, u64)> {
        let open = &self.open;
        if !open.active {
            return None;
        }
        let rest = block.get(at..)?.strip_prefix(b"posting,")?;
        let rest = rest.strip_prefix(open.repeated_raw.as_slice())?;
        let rest = rest.strip_prefix(b",")?;
        let own_start = block.len() - rest.len();
        let mut position = own_start;
        let mut quoted_breaks = false;
        let row = &mut self.row;
        row.bytes.clear();
        for column in POSTING_INDEX..=AMOUNT_MINOR {
            let field_start = row.bytes.len();
            position = read_field(block, position, &mut row.bytes, &mut quoted_breaks)?;
            row.fields[column] = field_start..row.bytes.len();
            if block.get(position) != Some(&b',') {
                return None;
            }
            position += 1;
        }
        let own_end = position - 1;
        let rest = block
            .get(position..)?
            .strip_prefix(open.hashes_raw.as_slice())?;
        if !rest.starts_with(b"\r\n") {
            return None;
        }
        std::str::from_utf8(&block[own_start..own_end]).ok()?;
        let own_breaks = if quoted_breaks {
            memchr::memchr_iter(b'\n', &block[own_start..own_end]).count() as u64
        } else {
            0
        };
        let next = block.len() - rest.len() + 2;
        Some((next, open.repeated_breaks + own_breaks))
    }

    /// A posting row: the next posting of the open transaction, or the first of a new one.
    fn posting(&mut self, block: &[u8], line: u64, scanned: &mut ScannedBlock) -> Option<()> {
        let row = &self.row;
        let continues = self.open.active && row.field(SEQUENCE) == self.open.first.field(SEQUENCE);
        if !continues {
            self.open.complete(scanned)?;
            let open = &mut self.open;
            open.active = true;
            open.line = line;
            open.first.bytes.clone_from(&row.bytes);
            open.first.fields.clone_from(&row.fields);
            open.declared = usize::try_from(canonical_u64(row.field(POSTING_COUNT))?).ok()?;
            open.postings.clear();
            open.encoding.clear();
            open.encoding.extend_from_slice(ENCODING_V1_MAGIC);
            open.encoding
                .extend_from_slice(&canonical_u64(row.field(SEQUENCE))?.to_be_bytes());
            open.encoding
                .extend_from_slice(uuid(row.field(TRANSACTION_ID))?.as_bytes());
            for column in TEXTS {
                push_text(&mut open.encoding, row.field(column))?;
            }
            open.encoding
                .extend_from_slice(&u32::try_from(open.declared).ok()?.to_be_bytes());
            let repeated = &block[row.raw[SEQUENCE].start..row.raw[POSTING_COUNT].end];
            let hashes = &block[row.raw[PREVIOUS_HASH].start..row.raw[HASH].end];
            open.repeated_raw.clear();
            open.repeated_raw.extend_from_slice(repeated);
            open.hashes_raw.clear();
            open.hashes_raw.extend_from_slice(hashes);
            open.repeated_breaks = [repeated, hashes]
                .iter()
                .map(|run| memchr::memchr_iter(b'\n', run).count() as u64)
                .sum();
        }
        if !row.repeats(&self.open.first) {
            return None;
        }
        add_posting(&mut self.open, row)
    }
}

/// Adds the posting of `row` (its own four columns) to the open transaction: the next index, no
/// more than declared.
fn add_posting(open: &mut Open, row: &Row) -> Option<()> {
    if canonical_u64(row.field(POSTING_INDEX))? != u64::try_from(open.postings.len()).ok()?
        || open.postings.len() >= open.declared
    {
        return None;
    }
    let account_id = uuid(row.field(ACCOUNT_ID))?;
    let amount_minor = canonical_i64(row.field(AMOUNT_MINOR))?;
    open.encoding.extend_from_slice(account_id.as_bytes());
    let currency_at = open.encoding.len() + 4;
    push_text(&mut open.encoding, row.field(CURRENCY))?;
    let currency = currency_at..open.encoding.len();
    open.encoding.extend_from_slice(&amount_minor.to_be_bytes());
    open.postings.push((account_id, currency, amount_minor));
    Some(())
}

fn uuid(text: &[u8]) -> Option<Uuid> {
    ledger_core::export::canonical_uuid(text)
}

fn hash(text: &[u8]) -> Option<ChainHash> {
    ledger_core::export::canonical_hash(text)
}

/// `SLJ1` text: four big-endian length bytes, then the bytes.
fn push_text(encoding: &mut Vec<u8>, text: &[u8]) -> Option<()> {
    encoding.extend_from_slice(&u32::try_from(text.len()).ok()?.to_be_bytes());
    encoding.extend_from_slice(text);
    Some(())
}

/// The end row: the last sequence and final hash (both empty for an empty export), nothing else.
fn end_of(row: &Row) -> Option<ExportEnd> {
    let others_empty = (2..HASH).all(|column| row.field(column).is_empty());
    let last_sequence = match row.field(SEQUENCE) {
        b"" => None,
        text => Some(canonical_u64(text)?),
    };
    let final_hash = match row.field(HASH) {
        b"" => None,
        text => Some(hash(text)?),
    };
    others_empty.then_some(ExportEnd {
        last_sequence,
        final_hash,
        accounts: None,
    })
}

/// Reads the strict row at `at` into `row`: 17 fields (see [`read_field`]), separated by commas,
/// then `\r\n`. The whole row must be UTF-8. Returns where the next row starts and how many line
/// breaks the row's quoted fields hold.
fn read_row(bytes: &[u8], at: usize, row: &mut Row) -> Option<(usize, u64)> {
    let start = at;
    let mut at = at;
    // Line breaks inside quoted fields are rare: counted over the row only when there are some.
    let mut quoted_breaks = false;
    row.bytes.clear();
    for column in 0..COLUMNS {
        let field_start = row.bytes.len();
        let raw_start = at;
        at = read_field(bytes, at, &mut row.bytes, &mut quoted_breaks)?;
        row.fields[column] = field_start..row.bytes.len();
        row.raw[column] = raw_start..at;
        // Byte by byte: a slice comparison here was a `memcmp` call per field.
        if column + 1 < COLUMNS {
            if bytes.get(at) != Some(&b',') {
                return None;
            }
            at += 1;
        } else {
            if bytes.get(at) != Some(&b'\r') || bytes.get(at + 1) != Some(&b'\n') {
                return None;
            }
            at += 2;
        }
    }
    std::str::from_utf8(&bytes[start..at]).ok()?;
    let breaks = if quoted_breaks {
        memchr::memchr_iter(b'\n', &bytes[start..at]).count() as u64 - 1
    } else {
        0
    };
    Some((at, breaks))
}

/// Reads the strict field at `at`, appending its value to `out`: bare (no quote, comma or line
/// break in it) or quoted (quotes doubled inside). Returns where it ends (at what follows it) and
/// notes in `quoted_breaks` a line break inside quotes.
fn read_field(
    bytes: &[u8],
    at: usize,
    out: &mut Vec<u8>,
    quoted_breaks: &mut bool,
) -> Option<usize> {
    let mut at = at;
    if bytes.get(at) == Some(&b'"') {
        at += 1;
        loop {
            let quote = at + memchr(b'"', bytes.get(at..)?)?;
            let segment = &bytes[at..quote];
            *quoted_breaks |= memchr(b'\n', segment).is_some();
            out.extend_from_slice(segment);
            at = quote + 1;
            if bytes.get(at) == Some(&b'"') {
                out.push(b'"');
                at += 1;
            } else {
                return Some(at);
            }
        }
    }
    let rest = bytes.get(at..)?;
    let stop = memchr3(b',', b'\r', b'\n', rest)?;
    let field = &rest[..stop];
    if memchr(b'"', field).is_some() {
        return None;
    }
    out.extend_from_slice(field);
    Some(at + stop)
}

/// Where to cut `bytes` (whole strict rows from a row start) at or after `from` so that the next
/// block starts a transaction: a row start whose row type and sequence differ from the row's
/// before it. `None` when no such place is found (the caller reads on, or reads the file alone).
pub fn transaction_cut(bytes: &[u8], from: usize) -> Option<usize> {
    let mut in_quotes = memchr::memchr_iter(b'"', bytes.get(..from)?).count() % 2 == 1;
    let mut at = from;
    let mut previous_key: Option<&[u8]> = None;
    loop {
        // The next line break outside quotes ends a row.
        let found = at + memchr2(b'"', b'\n', bytes.get(at..)?)?;
        at = found + 1;
        if bytes[found] == b'"' {
            in_quotes = !in_quotes;
            continue;
        }
        if in_quotes {
            continue;
        }
        let key = row_key(&bytes[at..]);
        if let (Some(before), Some(key)) = (previous_key, key)
            && before != key
        {
            return Some(at);
        }
        previous_key = key;
    }
}

/// A row's type and sequence as written (`posting,41`), when it starts with two bare fields.
fn row_key(row: &[u8]) -> Option<&[u8]> {
    let head = &row[..row.len().min(48)];
    let first = memchr(b',', head)?;
    let second = first + 1 + memchr(b',', &head[first + 1..])?;
    let key = &head[..second];
    (memchr3(b'"', b'\r', b'\n', key).is_none()).then_some(key)
}

/// What [`read_general_row`] found at a place in the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeneralRow {
    /// A whole row, its fields unquoted: where the next row starts, and how many line feeds its
    /// quoted fields hold (the row spans that many lines more than one).
    Row { next: usize, breaks: u64 },
    /// The row goes on past the bytes given: read more and ask again.
    NeedMore,
    /// Not an RFC 4180 row as `docs/hash-chain.md` reads one.
    Malformed(String),
    /// The bytes end inside the row (with `at_eof`): a row cut short.
    Unfinished(String),
}

/// Reads the row at `at` into `fields`, accepting exactly what `docs/hash-chain.md` ("Reading a
/// file") allows and nothing a lenient CSV reader would: a field is bare (no comma, quote, CR or
/// LF in it) or quoted (anything inside, quotes doubled); fields are separated by commas; the row
/// ends with CR LF. A lone CR or LF outside quotes, a quote inside a bare field, or text after a
/// closing quote is malformed; so is a field that is not UTF-8. No other character (form feed,
/// U+0085, U+2028, ...) ends a row. `at_eof`: nothing follows `bytes`, so a row that goes on past
/// them is malformed rather than [`GeneralRow::NeedMore`].
pub fn read_general_row(
    bytes: &[u8],
    at: usize,
    at_eof: bool,
    fields: &mut Vec<String>,
) -> GeneralRow {
    let need_more = |message: &str| {
        if at_eof {
            GeneralRow::Unfinished(message.to_owned())
        } else {
            GeneralRow::NeedMore
        }
    };
    fields.clear();
    let mut position = at;
    let mut breaks = 0_u64;
    loop {
        let mut value = Vec::new();
        if bytes.get(position) == Some(&b'"') {
            position += 1;
            loop {
                let Some(rest) = bytes.get(position..) else {
                    return need_more("a quoted field is not closed");
                };
                let Some(quote) = memchr(b'"', rest) else {
                    return need_more("a quoted field is not closed");
                };
                value.extend_from_slice(&rest[..quote]);
                position += quote + 1;
                match bytes.get(position) {
                    Some(b'"') => {
                        value.push(b'"');
                        position += 1;
                    }
                    None if !at_eof => return GeneralRow::NeedMore,
                    _ => break,
                }
            }
            breaks += memchr::memchr_iter(b'\n', &value).count() as u64;
        } else {
            let rest = bytes.get(position..).unwrap_or_default();
            let Some(stop) = memchr3(b',', b'\r', b'\n', rest) else {
                return need_more("the last row does not end with CR LF");
            };
            if memchr(b'"', &rest[..stop]).is_some() {
                return GeneralRow::Malformed(format!(
                    "field {} holds a quote but is not quoted",
                    fields.len() + 1
                ));
            }
            value.extend_from_slice(&rest[..stop]);
            position += stop;
        }
        match String::from_utf8(value) {
            Ok(text) => fields.push(text),
            Err(_) => {
                return GeneralRow::Malformed(format!("field {} is not UTF-8", fields.len() + 1));
            }
        }
        match bytes.get(position) {
            Some(b',') => position += 1,
            Some(b'\r') => {
                return match bytes.get(position + 1) {
                    Some(b'\n') => GeneralRow::Row {
                        next: position + 2,
                        breaks,
                    },
                    None if !at_eof => GeneralRow::NeedMore,
                    _ => GeneralRow::Malformed(
                        "a carriage return outside quotes is not followed by a line feed (rows end with CR LF)"
                            .into(),
                    ),
                };
            }
            Some(b'\n') => {
                return GeneralRow::Malformed(
                    "a line feed outside quotes without a carriage return before it (rows end with CR LF)"
                        .into(),
                );
            }
            Some(_) => {
                return GeneralRow::Malformed(format!(
                    "text after the closing quote of field {}",
                    fields.len()
                ));
            }
            None => return need_more("the last row does not end with CR LF"),
        }
    }
}
