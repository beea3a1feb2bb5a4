//! Bank statements in: a streaming reader of ISO 20022 `camt.053` (Bank-to-Customer Statement,
//! versions `.001.02` and `.001.08`) into what the books need: the statement's id, account and
//! currency, and each entry with its raw identifiers (references, bank transaction code, charges,
//! and per transaction the EndToEndId, parties and remittance information).
//!
//! The file comes from outside, so the reader is defensive: a document type declaration (DTD) is
//! refused outright (it is the only way to define entities, so no entity is ever expanded: an
//! entity bomb or an external entity is refused at its `<!DOCTYPE`), a reference to any entity
//! other than XML's five predefined ones is an error, and the size, the nesting depth, the
//! entries, the transactions and every captured text are bounded. Every error names the element
//! path it was found at (`Document/BkToCstmrStmt/Stmt/Ntry[3]/Amt`). Amounts are read exactly
//! into minor units of their currency ([`Amount::parse`]), never through a float.

// Long file: the reader, the element paths it stores and its fixtures of both versions (and of the
// hostile documents it refuses) stay side by side; the reader itself is about 740 lines.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::money::{Amount, Currency};
use crate::time::FundDate;

/// The namespace of `camt.053.001.02`.
pub const CAMT_053_001_02_NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02";
/// The namespace of `camt.053.001.08`.
pub const CAMT_053_001_08_NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08";

/// The largest statement read (10 MiB): a month of a collection account's entries is far below
/// it, and the document is held in memory while it is read.
pub const MAX_STATEMENT_BYTES: usize = 10 * 1024 * 1024;
/// The deepest element nesting read: camt.053's deepest path (a party's postal address line
/// under a transaction's related parties) is 12 elements deep.
pub const MAX_DEPTH: usize = 32;
/// The most entries one statement carries.
pub const MAX_ENTRIES: usize = 10_000;
/// The most transaction details over all entries of one statement.
pub const MAX_TRANSACTIONS: usize = 50_000;
/// The most characters of one element's text kept (ISO 20022 texts are at most 140 characters;
/// the rest of a document is markup the reader skips).
pub const MAX_TEXT_CHARS: usize = 1_000;

const _: () = assert!(MAX_TRANSACTIONS >= MAX_ENTRIES);

/// Which version of camt.053 a statement was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CamtVersion {
    V02,
    V08,
}

impl CamtVersion {
    /// `camt.053.001.02` or `camt.053.001.08`.
    pub fn as_str(self) -> &'static str {
        match self {
            CamtVersion::V02 => "camt.053.001.02",
            CamtVersion::V08 => "camt.053.001.08",
        }
    }
}

/// The account a statement is for, as the bank names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementAccount {
    /// `Acct/Id/IBAN`, electronic form (upper case, no spaces).
    Iban(String),
    /// `Acct/Id/Othr/Id`, as written.
    Other(String),
}

impl StatementAccount {
    /// The identifier as written (an IBAN in electronic form).
    pub fn identifier(&self) -> &str {
        match self {
            StatementAccount::Iban(iban) | StatementAccount::Other(iban) => iban,
        }
    }

    /// The element path of the identifier.
    pub fn path(&self) -> &'static str {
        match self {
            StatementAccount::Iban(_) => "Document/BkToCstmrStmt/Stmt/Acct/Id/IBAN",
            StatementAccount::Other(_) => "Document/BkToCstmrStmt/Stmt/Acct/Id/Othr/Id",
        }
    }
}

/// Money in (`CRDT`) or out (`DBIT`) of the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditDebit {
    Credit,
    Debit,
}

impl CreditDebit {
    /// `CRDT` or `DBIT`, as the statement writes it.
    pub fn code(self) -> &'static str {
        match self {
            CreditDebit::Credit => "CRDT",
            CreditDebit::Debit => "DBIT",
        }
    }
}

/// A bank transaction code: ISO's domain, family and sub-family codes, and/or a proprietary code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BankTransactionCode {
    pub domain: Option<String>,
    pub family: Option<String>,
    pub sub_family: Option<String>,
    pub proprietary: Option<String>,
}

impl BankTransactionCode {
    /// The code written as one string: `PMNT/RCDT/ESCT`, the proprietary code after a `;` when
    /// there is one; empty when the entry had none.
    pub fn joined(&self) -> String {
        let iso: Vec<&str> = [&self.domain, &self.family, &self.sub_family]
            .into_iter()
            .filter_map(|part| part.as_deref())
            .collect();
        match &self.proprietary {
            Some(proprietary) if iso.is_empty() => proprietary.clone(),
            Some(proprietary) => format!("{};{proprietary}", iso.join("/")),
            None => iso.join("/"),
        }
    }
}

/// One transaction's details inside an entry (`NtryDtls/TxDtls`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionDetails {
    pub end_to_end_id: Option<String>,
    pub transaction_id: Option<String>,
    pub account_servicer_reference: Option<String>,
    pub debtor_name: Option<String>,
    pub creditor_name: Option<String>,
    /// `RmtInf/Strd/CdtrRefInf/Ref`, as written (checked later: see
    /// [`crate::statement_matching`]).
    pub creditor_reference: Option<String>,
    /// `RmtInf/Ustrd` lines, joined with a space.
    pub unstructured: Option<String>,
}

/// One entry (`Ntry`) of the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementEntry {
    /// 1-based position in the statement (`Ntry[3]`).
    pub line: usize,
    /// Positive, in the entry's currency.
    pub amount: Amount,
    pub direction: CreditDebit,
    /// `BOOK`, `PDNG`, `INFO`...
    pub status: String,
    pub booking_date: Option<FundDate>,
    pub value_date: Option<FundDate>,
    pub entry_reference: Option<String>,
    pub account_servicer_reference: Option<String>,
    pub bank_transaction_code: BankTransactionCode,
    /// The charges on the entry (`Chrgs`: the total when given, else the sum of its records),
    /// in the entry's currency; `None` when the entry has none.
    pub charges: Option<Amount>,
    pub transactions: Vec<TransactionDetails>,
}

impl StatementEntry {
    /// The element path of the entry (`Document/BkToCstmrStmt/Stmt/Ntry[3]`).
    pub fn path(&self) -> String {
        format!("Document/BkToCstmrStmt/Stmt/Ntry[{}]", self.line)
    }

    /// Whether the bank booked it (`BOOK`): only booked entries move money.
    pub fn is_booked(&self) -> bool {
        self.status == "BOOK"
    }
}

/// A statement, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub version: CamtVersion,
    /// `GrpHdr/MsgId`.
    pub message_id: Option<String>,
    /// `Stmt/Id`: the bank's identifier of the statement.
    pub statement_id: String,
    pub account: StatementAccount,
    /// `Acct/Ccy` when given, else the currency of the entries (all the same).
    pub currency: Currency,
    pub entries: Vec<StatementEntry>,
}

/// Why a statement cannot be read: the element path and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct StatementError {
    pub path: String,
    pub reason: String,
}

impl StatementError {
    fn at(path: impl Into<String>, reason: impl Into<String>) -> StatementError {
        StatementError {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// An element on the reader's stack: its local name and, for repeated elements that matter, its
/// 1-based position (`Ntry[3]`).
#[derive(Debug)]
struct Open {
    name: String,
    position: Option<usize>,
    /// The `Ccy` attribute of an amount element.
    currency: Option<String>,
}

/// An entry while it is read.
#[derive(Debug, Default)]
struct EntryDraft {
    amount: Option<Amount>,
    direction: Option<CreditDebit>,
    status: Option<String>,
    booking_date: Option<FundDate>,
    value_date: Option<FundDate>,
    entry_reference: Option<String>,
    account_servicer_reference: Option<String>,
    bank_transaction_code: BankTransactionCode,
    charges_total: Option<Amount>,
    charges_records: Option<Amount>,
    transactions: Vec<TransactionDetails>,
}

/// The statement while it is read.
#[derive(Debug, Default)]
struct Draft {
    version: Option<CamtVersion>,
    message_id: Option<String>,
    statement_id: Option<String>,
    statements_seen: usize,
    account: Option<StatementAccount>,
    account_currency: Option<Currency>,
    entries: Vec<StatementEntry>,
    entry: Option<EntryDraft>,
    transactions_seen: usize,
}

/// Reads a camt.053 statement (`.001.02` or `.001.08`) from its bytes.
pub fn read_statement(bytes: &[u8]) -> Result<Statement, StatementError> {
    if bytes.len() > MAX_STATEMENT_BYTES {
        return Err(StatementError::at(
            "Document",
            format!("a statement may have at most {MAX_STATEMENT_BYTES} bytes"),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        StatementError::at(
            "Document",
            format!(
                "is not UTF-8 (byte {} is not valid)",
                error.valid_up_to() + 1
            ),
        )
    })?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Open> = Vec::new();
    let mut counters: Vec<(usize, usize)> = Vec::new();
    let mut text_buffer = String::new();
    let mut draft = Draft::default();
    loop {
        let position = reader.buffer_position();
        let (namespace, event) = reader.read_resolved_event().map_err(|error| {
            StatementError::at(
                path_of(&stack),
                format!("is not well-formed XML near byte {position}: {error}"),
            )
        })?;
        let namespace = match namespace {
            ResolveResult::Bound(namespace) => Some(namespace.0.to_owned()),
            _ => None,
        };
        match event {
            Event::DocType(_) => {
                return Err(StatementError::at(
                    "Document",
                    "a document type declaration (DTD) is refused: a statement defines no entities",
                ));
            }
            Event::Start(start) => {
                open(&mut stack, &mut counters, &start, namespace, &mut draft)?;
                text_buffer.clear();
            }
            Event::Empty(start) => {
                open(&mut stack, &mut counters, &start, namespace, &mut draft)?;
                text_buffer.clear();
                close(&mut stack, &mut counters, "", &mut draft)?;
            }
            Event::Text(content) => {
                let content = content.xml10_content();
                push_text(&stack, &mut text_buffer, &content)?;
            }
            Event::CData(content) => {
                let content = content.into_inner().into_owned();
                push_text(&stack, &mut text_buffer, &content)?;
            }
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference.xml10_content()).ok_or_else(|| {
                    StatementError::at(
                        path_of(&stack),
                        format!(
                            "refers to the entity &{};, which a statement may not use (only XML's predefined entities and character references)",
                            reference.xml10_content()
                        ),
                    )
                })?;
                push_text(&stack, &mut text_buffer, &resolved.to_string())?;
            }
            Event::End(_) => {
                let captured = std::mem::take(&mut text_buffer);
                close(&mut stack, &mut counters, captured.trim(), &mut draft)?;
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    finish(draft)
}

/// The five entities XML predefines and character references; nothing else is ever expanded.
fn resolve_reference(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code).filter(|letter| *letter != '\0')
        }
    }
}

fn push_text(stack: &[Open], buffer: &mut String, text: &str) -> Result<(), StatementError> {
    if buffer.chars().count() + text.chars().count() > MAX_TEXT_CHARS {
        return Err(StatementError::at(
            path_of(stack),
            format!("has more than {MAX_TEXT_CHARS} characters of text"),
        ));
    }
    // White space between elements is no element's text.
    buffer.push_str(if buffer.is_empty() {
        text.trim_start()
    } else {
        text
    });
    Ok(())
}

/// The element path of the stack (`Document/BkToCstmrStmt/Stmt/Ntry[3]/Amt`).
fn path_of(stack: &[Open]) -> String {
    let parts: Vec<String> = stack
        .iter()
        .map(|open| match open.position {
            Some(position) => format!("{}[{position}]", open.name),
            None => open.name.clone(),
        })
        .collect();
    parts.join("/")
}

/// The local names of the stack below `Stmt` (empty when not inside the statement).
fn names(stack: &[Open]) -> Vec<&str> {
    stack.iter().map(|open| open.name.as_str()).collect()
}

fn local_name(start: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(start.local_name().as_ref().as_bytes()).into_owned()
}

/// Pushes an element, checking the root's namespace, the depth, and counting entries and
/// transactions.
fn open(
    stack: &mut Vec<Open>,
    counters: &mut Vec<(usize, usize)>,
    start: &BytesStart<'_>,
    namespace: Option<String>,
    draft: &mut Draft,
) -> Result<(), StatementError> {
    let name = local_name(start);
    if stack.is_empty() {
        let version = match namespace.as_deref() {
            Some(CAMT_053_001_02_NAMESPACE) => CamtVersion::V02,
            Some(CAMT_053_001_08_NAMESPACE) => CamtVersion::V08,
            other => {
                return Err(StatementError::at(
                    name,
                    format!(
                        "is not a camt.053.001.02 or camt.053.001.08 statement (namespace {})",
                        other.unwrap_or("none")
                    ),
                ));
            }
        };
        if name != "Document" {
            return Err(StatementError::at(
                name,
                "the root element must be Document",
            ));
        }
        if draft.version.is_some() {
            return Err(StatementError::at(name, "a file holds one Document"));
        }
        draft.version = Some(version);
    }
    if stack.len() >= MAX_DEPTH {
        return Err(StatementError::at(
            path_of(stack),
            format!("nests elements deeper than {MAX_DEPTH} levels"),
        ));
    }
    // Siblings are counted per parent: the counter of this depth is reset when its parent opens.
    let depth = stack.len();
    counters.truncate(depth + 1);
    while counters.len() <= depth {
        counters.push((0, 0));
    }
    let counted = matches!(name.as_str(), "Ntry" | "TxDtls");
    let position = if counted {
        let slot = if name == "Ntry" { 0 } else { 1 };
        let counter = counters
            .get_mut(depth)
            .map(|pair| if slot == 0 { &mut pair.0 } else { &mut pair.1 });
        counter.map(|count| {
            *count += 1;
            *count
        })
    } else {
        None
    };
    let currency = match start.try_get_attribute("Ccy") {
        Ok(Some(attribute)) => Some(
            attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|error| {
                    StatementError::at(
                        format!("{}/{name}/@Ccy", path_of(stack)),
                        format!("cannot be read: {error}"),
                    )
                })?
                .into_owned(),
        ),
        Ok(None) => None,
        Err(error) => {
            return Err(StatementError::at(
                format!("{}/{name}", path_of(stack)),
                format!("has malformed attributes: {error}"),
            ));
        }
    };
    stack.push(Open {
        name: name.clone(),
        position,
        currency,
    });
    let path = names(stack);
    match path.as_slice() {
        ["Document", "BkToCstmrStmt", "Stmt"] => {
            draft.statements_seen += 1;
            if draft.statements_seen > 1 {
                return Err(StatementError::at(
                    path_of(stack),
                    "a file may hold one statement (Stmt) only: send each account's statement on its own",
                ));
            }
        }
        ["Document", "BkToCstmrStmt", "Stmt", "Ntry"] => {
            if draft.entries.len() >= MAX_ENTRIES {
                return Err(StatementError::at(
                    path_of(stack),
                    format!("a statement may have at most {MAX_ENTRIES} entries"),
                ));
            }
            draft.entry = Some(EntryDraft::default());
        }
        [
            "Document",
            "BkToCstmrStmt",
            "Stmt",
            "Ntry",
            "NtryDtls",
            "TxDtls",
        ] => {
            draft.transactions_seen += 1;
            if draft.transactions_seen > MAX_TRANSACTIONS {
                return Err(StatementError::at(
                    path_of(stack),
                    format!("a statement may have at most {MAX_TRANSACTIONS} transactions"),
                ));
            }
            if let Some(entry) = draft.entry.as_mut() {
                entry.transactions.push(TransactionDetails::default());
            }
        }
        _ => {}
    }
    Ok(())
}

/// Pops an element, storing its text where the statement needs it.
fn close(
    stack: &mut Vec<Open>,
    counters: &mut Vec<(usize, usize)>,
    text: &str,
    draft: &mut Draft,
) -> Result<(), StatementError> {
    let path = path_of(stack);
    let result = store(stack, text, draft, &path);
    let Some(last) = stack.pop() else {
        return Err(StatementError::at(
            "Document",
            "closes an element never opened",
        ));
    };
    counters.truncate(stack.len() + 1);
    result?;
    if last.name == "Ntry" && stack.len() == 3 {
        let entry = draft.entry.take().unwrap_or_default();
        let line = last.position.unwrap_or(draft.entries.len() + 1);
        draft.entries.push(finish_entry(entry, line, &path)?);
    }
    Ok(())
}

fn required<T>(value: Option<T>, path: &str, element: &str) -> Result<T, StatementError> {
    value.ok_or_else(|| StatementError::at(format!("{path}/{element}"), "is missing"))
}

fn finish_entry(
    entry: EntryDraft,
    line: usize,
    path: &str,
) -> Result<StatementEntry, StatementError> {
    let amount = required(entry.amount, path, "Amt")?;
    let direction = required(entry.direction, path, "CdtDbtInd")?;
    let status = required(entry.status, path, "Sts")?;
    if let Some(charges) = entry.charges_total.or(entry.charges_records)
        && charges.currency() != amount.currency()
    {
        return Err(StatementError::at(
            format!("{path}/Chrgs"),
            format!(
                "are in {} while the entry is in {}",
                charges.currency(),
                amount.currency()
            ),
        ));
    }
    Ok(StatementEntry {
        line,
        amount,
        direction,
        status,
        booking_date: entry.booking_date,
        value_date: entry.value_date,
        entry_reference: entry.entry_reference,
        account_servicer_reference: entry.account_servicer_reference,
        bank_transaction_code: entry.bank_transaction_code,
        charges: entry.charges_total.or(entry.charges_records),
        transactions: entry.transactions,
    })
}

/// A non-empty text, or an error naming the element.
fn some_text(text: &str, path: &str) -> Result<String, StatementError> {
    if text.is_empty() {
        return Err(StatementError::at(path, "is empty"));
    }
    Ok(text.to_owned())
}

/// A date (`Dt`, or the date of a `DtTm`).
fn date_of(text: &str, path: &str) -> Result<FundDate, StatementError> {
    let day = text.get(..10).unwrap_or(text);
    FundDate::parse(day).map_err(|error| StatementError::at(path, error.to_string()))
}

/// Stores the text of the element on top of the stack, by its path.
fn store(stack: &[Open], text: &str, draft: &mut Draft, path: &str) -> Result<(), StatementError> {
    let names = names(stack);
    match names.as_slice() {
        ["Document", "BkToCstmrStmt", "GrpHdr", "MsgId"] => {
            draft.message_id = Some(some_text(text, path)?);
        }
        ["Document", "BkToCstmrStmt", "Stmt", "Id"] => {
            draft.statement_id = Some(some_text(text, path)?);
        }
        ["Document", "BkToCstmrStmt", "Stmt", "Acct", "Id", "IBAN"] => {
            let iban = crate::payment_reference::checked_iban(text)
                .map_err(|error| StatementError::at(path, format!("is not an IBAN: it {error}")))?;
            draft.account = Some(StatementAccount::Iban(iban));
        }
        [
            "Document",
            "BkToCstmrStmt",
            "Stmt",
            "Acct",
            "Id",
            "Othr",
            "Id",
        ] => {
            draft.account = Some(StatementAccount::Other(some_text(text, path)?));
        }
        ["Document", "BkToCstmrStmt", "Stmt", "Acct", "Ccy"] => {
            draft.account_currency = Some(
                Currency::from_code(text)
                    .map_err(|error| StatementError::at(path, error.to_string()))?,
            );
        }
        ["Document", "BkToCstmrStmt", "Stmt", "Ntry", rest @ ..] => {
            if let Some(entry) = draft.entry.as_mut() {
                store_in_entry(rest, stack, text, entry, path)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// An amount: the text of an element whose `Ccy` attribute names its currency, exact in the
/// currency's minor units, not negative.
fn amount_of(stack: &[Open], text: &str, path: &str) -> Result<Amount, StatementError> {
    let code = stack
        .last()
        .and_then(|open| open.currency.as_deref())
        .ok_or_else(|| StatementError::at(format!("{path}/@Ccy"), "is missing"))?;
    let currency = Currency::from_code(code)
        .map_err(|error| StatementError::at(format!("{path}/@Ccy"), error.to_string()))?;
    let amount = Amount::parse(text, currency).map_err(|error| {
        StatementError::at(path, format!("is not an amount in {currency}: {error}"))
    })?;
    if amount.is_negative() {
        return Err(StatementError::at(path, "must not be negative"));
    }
    Ok(amount)
}

/// Adds a charge record to the entry's running sum.
fn add_charge(
    sum: Option<Amount>,
    charge: Amount,
    path: &str,
) -> Result<Option<Amount>, StatementError> {
    match sum {
        None => Ok(Some(charge)),
        Some(sum) => sum
            .checked_add(charge)
            .map(Some)
            .map_err(|error| StatementError::at(path, error.to_string())),
    }
}

fn store_in_entry(
    rest: &[&str],
    stack: &[Open],
    text: &str,
    entry: &mut EntryDraft,
    path: &str,
) -> Result<(), StatementError> {
    match rest {
        ["Amt"] => {
            let amount = amount_of(stack, text, path)?;
            if amount.is_zero() {
                return Err(StatementError::at(path, "must be positive"));
            }
            entry.amount = Some(amount);
        }
        ["Chrgs", "TtlChrgsAndTaxAmt"] => entry.charges_total = Some(amount_of(stack, text, path)?),
        // `.02` lists charges as `Chrgs` with their `Amt`, `.08` as `Chrgs/Rcrd`.
        ["Chrgs", "Amt"] | ["Chrgs", "Rcrd", "Amt"] => {
            let charge = amount_of(stack, text, path)?;
            entry.charges_records = add_charge(entry.charges_records, charge, path)?;
        }
        ["CdtDbtInd"] => {
            entry.direction = Some(match text {
                "CRDT" => CreditDebit::Credit,
                "DBIT" => CreditDebit::Debit,
                other => {
                    return Err(StatementError::at(
                        path,
                        format!("must be CRDT or DBIT, not {other:?}"),
                    ));
                }
            });
        }
        // `.02` writes the status as text, `.08` as a code.
        ["Sts"] | ["Sts", "Cd"] if !text.is_empty() => entry.status = Some(text.to_owned()),
        ["BookgDt", "Dt" | "DtTm"] => entry.booking_date = Some(date_of(text, path)?),
        ["ValDt", "Dt" | "DtTm"] => entry.value_date = Some(date_of(text, path)?),
        ["NtryRef"] => entry.entry_reference = Some(some_text(text, path)?),
        ["AcctSvcrRef"] => entry.account_servicer_reference = Some(some_text(text, path)?),
        ["BkTxCd", "Domn", "Cd"] => entry.bank_transaction_code.domain = Some(text.to_owned()),
        ["BkTxCd", "Domn", "Fmly", "Cd"] => {
            entry.bank_transaction_code.family = Some(text.to_owned());
        }
        ["BkTxCd", "Domn", "Fmly", "SubFmlyCd"] => {
            entry.bank_transaction_code.sub_family = Some(text.to_owned());
        }
        ["BkTxCd", "Prtry", "Cd"] => {
            entry.bank_transaction_code.proprietary = Some(text.to_owned())
        }
        ["NtryDtls", "TxDtls", details @ ..] => {
            if let Some(transaction) = entry.transactions.last_mut() {
                store_in_transaction(details, text, transaction, path)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn store_in_transaction(
    details: &[&str],
    text: &str,
    transaction: &mut TransactionDetails,
    path: &str,
) -> Result<(), StatementError> {
    match details {
        ["Refs", "EndToEndId"] => transaction.end_to_end_id = Some(some_text(text, path)?),
        ["Refs", "TxId"] => transaction.transaction_id = Some(some_text(text, path)?),
        ["Refs", "AcctSvcrRef"] => {
            transaction.account_servicer_reference = Some(some_text(text, path)?);
        }
        // `.02` names a party directly, `.08` through `Pty`.
        ["RltdPties", "Dbtr", "Nm"] | ["RltdPties", "Dbtr", "Pty", "Nm"] => {
            transaction.debtor_name = Some(some_text(text, path)?);
        }
        ["RltdPties", "Cdtr", "Nm"] | ["RltdPties", "Cdtr", "Pty", "Nm"] => {
            transaction.creditor_name = Some(some_text(text, path)?);
        }
        ["RmtInf", "Strd", "CdtrRefInf", "Ref"] => {
            transaction.creditor_reference = Some(some_text(text, path)?);
        }
        ["RmtInf", "Ustrd"] if !text.is_empty() => {
            transaction.unstructured = Some(match transaction.unstructured.take() {
                Some(earlier) => format!("{earlier} {text}"),
                None => text.to_owned(),
            });
        }
        _ => {}
    }
    Ok(())
}

fn finish(draft: Draft) -> Result<Statement, StatementError> {
    let Some(version) = draft.version else {
        return Err(StatementError::at("Document", "is missing"));
    };
    if draft.statements_seen == 0 {
        return Err(StatementError::at(
            "Document/BkToCstmrStmt/Stmt",
            "is missing",
        ));
    }
    let statement_id = required(draft.statement_id, "Document/BkToCstmrStmt/Stmt", "Id")?;
    let account = required(draft.account, "Document/BkToCstmrStmt/Stmt/Acct", "Id")?;
    let currency = match (draft.account_currency, draft.entries.first()) {
        (Some(currency), _) => currency,
        (None, Some(entry)) => entry.amount.currency(),
        (None, None) => {
            return Err(StatementError::at(
                "Document/BkToCstmrStmt/Stmt/Acct/Ccy",
                "is missing and the statement has no entry to take the currency from",
            ));
        }
    };
    for entry in &draft.entries {
        if entry.amount.currency() != currency {
            return Err(StatementError::at(
                format!("{}/Amt", entry.path()),
                format!(
                    "is in {} while the statement's account is in {currency}",
                    entry.amount.currency()
                ),
            ));
        }
    }
    Ok(Statement {
        version,
        message_id: draft.message_id,
        statement_id,
        account,
        currency,
        entries: draft.entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.02` statement as a bank prints it: a credit quoting a creditor reference, a debit of a
    /// transfer with its charges, and a pending entry.
    const V02: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-03-31T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-2026-03</Id>
      <CreDtTm>2026-03-31T18:00:00</CreDtTm>
      <Acct><Id><IBAN>FR76 3000 6000 0112 3456 7890 189</IBAN></Id><Ccy>EUR</Ccy></Acct>
      <Ntry>
        <NtryRef>N1</NtryRef>
        <Amt Ccy="EUR">1250.5</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-03-02</Dt></BookgDt>
        <ValDt><DtTm>2026-03-03T09:00:00</DtTm></ValDt>
        <AcctSvcrRef>BANK-1</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>NOTPROVIDED</EndToEndId><TxId>TX-1</TxId></Refs>
          <RltdPties><Dbtr><Nm>Syndicat &amp; Cie</Nm></Dbtr></RltdPties>
          <RmtInf><Ustrd>Batch</Ustrd><Ustrd>March</Ustrd><Strd><CdtrRefInf><Ref>RF18 5390 0754 7034</Ref></CdtrRefInf></Strd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">300.00</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <ValDt><Dt>2026-03-05</Dt></ValDt>
        <BkTxCd><Prtry><Cd>TRF</Cd></Prtry></BkTxCd>
        <Chrgs><Amt Ccy="EUR">1.50</Amt></Chrgs>
        <Chrgs><Amt Ccy="EUR">0.25</Amt></Chrgs>
        <NtryDtls><TxDtls><Refs><EndToEndId>abc123</EndToEndId></Refs>
          <RltdPties><Cdtr><Nm>Mutuelle</Nm></Cdtr></RltdPties></TxDtls></NtryDtls>
      </Ntry>
      <Ntry><Amt Ccy="EUR">1</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts></Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>"#;

    /// A `.08` statement: codes in `Sts/Cd`, parties under `Pty`, charges as records, the account
    /// by another identifier.
    const V08: &str = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>M8</MsgId><CreDtTm>2026-03-31T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S8</Id><Acct><Id><Othr><Id>0001234</Id></Othr></Id></Acct>
<Ntry><Amt Ccy="XOF">655957</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>2026-03-04</Dt></BookgDt>
<BkTxCd><Domn><Cd>ACMT</Cd><Fmly><Cd>MDOP</Cd><SubFmlyCd>CHRG</SubFmlyCd></Fmly></Domn></BkTxCd>
<Chrgs><Rcrd><Amt Ccy="XOF">100</Amt></Rcrd><Rcrd><Amt Ccy="XOF">25</Amt></Rcrd></Chrgs>
<NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>Payer</Nm></Pty></Dbtr><Cdtr><Pty><Nm>Bank</Nm></Pty></Cdtr></RltdPties></TxDtls>
<TxDtls><Refs><AcctSvcrRef>TXB</AcctSvcrRef></Refs></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>"#;

    fn refusal(xml: &str) -> StatementError {
        read_statement(xml.as_bytes()).unwrap_err()
    }

    #[test]
    fn a_02_statement_is_read_with_its_raw_identifiers() {
        // Proves every field the books keep is read from a .02 statement: amounts exact in minor
        // units (1250.5 EUR is 125050), dates from Dt and DtTm, charges summed, Ustrd joined,
        // entities of XML's own resolved, an IBAN in electronic form.
        let statement = read_statement(V02.as_bytes()).unwrap();
        assert_eq!(statement.version, CamtVersion::V02);
        assert_eq!(statement.message_id.as_deref(), Some("MSG-1"));
        assert_eq!(statement.statement_id, "STMT-2026-03");
        assert_eq!(
            statement.account,
            StatementAccount::Iban("FR7630006000011234567890189".to_owned())
        );
        assert_eq!(statement.currency, Currency::eur());
        assert_eq!(statement.entries.len(), 3);
        let credit = &statement.entries[0];
        assert_eq!((credit.line, credit.amount.minor()), (1, 125_050));
        assert_eq!(credit.direction, CreditDebit::Credit);
        assert!(credit.is_booked());
        assert_eq!(credit.booking_date.unwrap().to_string(), "2026-03-02");
        assert_eq!(credit.value_date.unwrap().to_string(), "2026-03-03");
        assert_eq!(credit.entry_reference.as_deref(), Some("N1"));
        assert_eq!(credit.account_servicer_reference.as_deref(), Some("BANK-1"));
        assert_eq!(credit.bank_transaction_code.joined(), "PMNT/RCDT/ESCT");
        let transaction = &credit.transactions[0];
        assert_eq!(transaction.transaction_id.as_deref(), Some("TX-1"));
        assert_eq!(transaction.debtor_name.as_deref(), Some("Syndicat & Cie"));
        assert_eq!(
            transaction.creditor_reference.as_deref(),
            Some("RF18 5390 0754 7034")
        );
        assert_eq!(transaction.unstructured.as_deref(), Some("Batch March"));
        let debit = &statement.entries[1];
        assert_eq!(debit.direction, CreditDebit::Debit);
        assert_eq!(debit.charges.map(|charges| charges.minor()), Some(175));
        assert_eq!(debit.bank_transaction_code.joined(), "TRF");
        assert_eq!(
            debit.transactions[0].end_to_end_id.as_deref(),
            Some("abc123")
        );
        assert_eq!(
            debit.transactions[0].creditor_name.as_deref(),
            Some("Mutuelle")
        );
        assert!(!statement.entries[2].is_booked());
    }

    #[test]
    fn a_08_statement_is_read() {
        // Proves the .08 shapes are read: the status code, parties under Pty, charge records,
        // another account identifier, the currency taken from the entries, a zero-decimal
        // currency's amounts exact, and several transactions per entry.
        let statement = read_statement(V08.as_bytes()).unwrap();
        assert_eq!(statement.version, CamtVersion::V08);
        assert_eq!(
            statement.account,
            StatementAccount::Other("0001234".to_owned())
        );
        assert_eq!(statement.currency.code(), "XOF");
        let entry = &statement.entries[0];
        assert_eq!(entry.amount.minor(), 655_957);
        assert!(entry.is_booked());
        assert_eq!(entry.charges.map(|charges| charges.minor()), Some(125));
        assert_eq!(entry.bank_transaction_code.joined(), "ACMT/MDOP/CHRG");
        assert_eq!(entry.transactions.len(), 2);
        assert_eq!(entry.transactions[0].debtor_name.as_deref(), Some("Payer"));
        assert_eq!(entry.transactions[0].creditor_name.as_deref(), Some("Bank"));
        assert_eq!(
            entry.transactions[1].account_servicer_reference.as_deref(),
            Some("TXB")
        );
    }

    #[test]
    fn hostile_documents_are_refused_naming_where() {
        // Proves a DTD (and with it every entity bomb and external entity), an undefined entity,
        // a foreign namespace, a malformed or float-like amount, a missing element, too deep a
        // nesting and a non-UTF-8 file are refused, each naming the element path.
        let bomb = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE Document [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>{}",
            V02.replace("MSG-1", "&b;").split_once("?>").unwrap().1
        );
        let error = refusal(&bomb);
        assert_eq!(error.path, "Document");
        assert!(error.reason.contains("DTD"), "{error}");
        let external = "<!DOCTYPE Document SYSTEM \"file:///etc/passwd\"><Document/>";
        assert!(refusal(external).reason.contains("DTD"));
        let undefined = refusal(&V02.replace("MSG-1", "&xxe;"));
        assert_eq!(undefined.path, "Document/BkToCstmrStmt/GrpHdr/MsgId");
        assert!(undefined.reason.contains("&xxe;"), "{undefined}");
        let foreign = refusal(&V02.replace("camt.053.001.02", "camt.052.001.02"));
        assert!(foreign.reason.contains("camt.053"), "{foreign}");
        for bad in ["1250,50", "1e3", "12.505", "-3", "0", "NaN"] {
            let error = refusal(&V02.replace(">1250.5<", &format!(">{bad}<")));
            assert_eq!(
                error.path, "Document/BkToCstmrStmt/Stmt/Ntry[1]/Amt",
                "{bad}"
            );
        }
        let no_currency = refusal(&V02.replace("<Amt Ccy=\"EUR\">300.00", "<Amt>300.00"));
        assert_eq!(
            no_currency.path,
            "Document/BkToCstmrStmt/Stmt/Ntry[2]/Amt/@Ccy"
        );
        let other_currency =
            refusal(&V02.replace("<Amt Ccy=\"EUR\">1250.5", "<Amt Ccy=\"USD\">1250.5"));
        assert_eq!(
            other_currency.path,
            "Document/BkToCstmrStmt/Stmt/Ntry[1]/Amt"
        );
        let no_direction = refusal(&V02.replace("<CdtDbtInd>DBIT</CdtDbtInd>", ""));
        assert_eq!(
            no_direction.path,
            "Document/BkToCstmrStmt/Stmt/Ntry[2]/CdtDbtInd"
        );
        let bad_date = refusal(&V02.replace("2026-03-05", "2026-02-30"));
        assert_eq!(
            bad_date.path,
            "Document/BkToCstmrStmt/Stmt/Ntry[2]/ValDt/Dt"
        );
        let deep = format!(
            "<Document xmlns=\"{CAMT_053_001_08_NAMESPACE}\">{}{}</Document>",
            "<X>".repeat(MAX_DEPTH),
            "</X>".repeat(MAX_DEPTH)
        );
        assert!(refusal(&deep).reason.contains("deeper"));
        assert_eq!(
            read_statement(b"<Document \xff/>").unwrap_err().path,
            "Document"
        );
        let two = V02.replace("</Stmt>", "</Stmt><Stmt><Id>2</Id></Stmt>");
        assert!(refusal(&two).reason.contains("one statement"));
    }

    #[test]
    fn limits_hold() {
        // Proves a statement above the byte limit and one with more entries than allowed are
        // refused before they are kept.
        let big = vec![b' '; MAX_STATEMENT_BYTES + 1];
        assert!(read_statement(&big).unwrap_err().reason.contains("at most"));
        let entry =
            "<Ntry><Amt Ccy=\"EUR\">1</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts></Ntry>";
        let many = format!(
            "<Document xmlns=\"{CAMT_053_001_08_NAMESPACE}\"><BkToCstmrStmt><Stmt><Id>S</Id><Acct><Id><Othr><Id>1</Id></Othr></Id></Acct>{}</Stmt></BkToCstmrStmt></Document>",
            entry.repeat(MAX_ENTRIES + 1)
        );
        let error = refusal(&many);
        assert_eq!(
            error.path,
            format!("Document/BkToCstmrStmt/Stmt/Ntry[{}]", MAX_ENTRIES + 1)
        );
    }
}
