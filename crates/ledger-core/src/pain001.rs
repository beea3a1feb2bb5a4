//! The payment file of an executed transfer run: an ISO 20022 `pain.001.001.09` Customer Credit
//! Transfer Initiation, built from the run's transfers, the creditors' bank accounts and the
//! network's collection account. One payment information block per execution date and currency,
//! the charge bearer `DEBT` (the sender pays every charge: the "no loss" rule), the transfer's
//! reference as `EndToEndId`, amounts exact in the currency's minor unit. The same input gives the
//! same bytes (blocks and transfers in a fixed order, no clock read here).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::money::{Amount, Currency};
use crate::text::{TextKind, checked_text};
use crate::time::Timestamp;
use crate::xml_writer::{XmlDocument, XmlError};

/// The message's namespace.
pub const PAIN_001_NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09";

/// ISO 20022 `Max35Text`: message, block and end-to-end identifiers.
pub const MAX_IDENTIFIER_CHARS: usize = 35;
/// ISO 20022 `Max140Text`: party names and the unstructured remittance line.
pub const MAX_NAME_CHARS: usize = 140;
/// ISO 20022 `Max34Text`: an account number that is no IBAN.
pub const MAX_ACCOUNT_NUMBER_CHARS: usize = 34;
/// The most transfers one file carries (`Max15NumericText` allows far more; a run never has this
/// many beneficiaries, and a bank portal refuses larger files).
pub const MAX_TRANSFERS_PER_FILE: usize = 10_000;

/// An IBAN whose form and ISO 13616 check digits (mod 97) hold, stored without spaces, upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iban(String);

impl Iban {
    /// Parses an IBAN, spaces allowed (`FR76 3000 6000 ...`).
    pub fn parse(text: &str) -> Result<Iban, String> {
        let compact: String = text
            .chars()
            .filter(|letter| *letter != ' ')
            .map(|letter| letter.to_ascii_uppercase())
            .collect();
        let bytes = compact.as_bytes();
        let well_formed = (5..=34).contains(&bytes.len())
            && bytes[..2].iter().all(u8::is_ascii_uppercase)
            && bytes[2..4].iter().all(u8::is_ascii_digit)
            && bytes[4..].iter().all(u8::is_ascii_alphanumeric);
        if !well_formed {
            return Err(
                "an IBAN is a country code, two check digits and up to 30 letters or digits".into(),
            );
        }
        // ISO 13616: the first four characters moved to the end, letters as 10..35, mod 97 = 1.
        let mut remainder: u32 = 0;
        for letter in compact[4..].chars().chain(compact[..4].chars()) {
            let value = letter
                .to_digit(36)
                .ok_or("an IBAN holds letters and digits only")?;
            remainder = if value >= 10 {
                (remainder * 100 + value) % 97
            } else {
                (remainder * 10 + value) % 97
            };
        }
        if remainder != 1 {
            return Err("the IBAN's check digits do not match (a typo?)".into());
        }
        Ok(Iban(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A BIC (ISO 9362): four letters or digits for the institution, the country, the location, and
/// an optional branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bic(String);

impl Bic {
    pub fn parse(text: &str) -> Result<Bic, String> {
        let bic = text.trim().to_ascii_uppercase();
        let bytes = bic.as_bytes();
        let well_formed = (bytes.len() == 8 || bytes.len() == 11)
            && bytes.iter().all(u8::is_ascii_alphanumeric)
            && bytes[4..6].iter().all(u8::is_ascii_uppercase);
        if well_formed {
            Ok(Bic(bic))
        } else {
            Err("a BIC has 8 or 11 letters or digits, the 5th and 6th a country code".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How an account is identified at its bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountNumber {
    Iban(Iban),
    /// A national account number (many southern banks have no IBAN), with the bank's BIC.
    Other(String),
}

/// A bank account: its holder, its number, its bank, its currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    pub holder_name: String,
    pub number: AccountNumber,
    /// The bank's BIC: required for the debtor and for an account that is no IBAN.
    pub bic: Option<Bic>,
    pub currency: Currency,
}

/// One transfer to instruct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditTransfer {
    /// The transfer's reference, sent as `EndToEndId` (and matched back on the bank statement).
    pub end_to_end_id: String,
    pub amount: Amount,
    pub execution_date: NaiveDate,
    pub creditor: BankAccount,
    /// One line for the creditor's statement (at most 140 characters).
    pub remittance: Option<String>,
}

/// Everything the file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFile {
    /// The message id (at most 35 characters): stable for a run, so a second file is the same file.
    pub message_id: String,
    /// When the instruction was made (the run's execution): written as `CreDtTm`.
    pub created_at: Timestamp,
    /// The initiating party's name (the network).
    pub initiating_party: String,
    /// The network's collection account, which pays.
    pub debtor: BankAccount,
    pub transfers: Vec<CreditTransfer>,
}

/// One problem with the input, naming where it is (`transfers[2].end_to_end_id`, `debtor.bic`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFileProblem {
    pub field: String,
    pub message: String,
}

/// Why a file cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentFileError {
    /// Every problem of the input at once.
    #[error("the payment file cannot be built: {}", describe(.0))]
    Invalid(Vec<PaymentFileProblem>),
    #[error(transparent)]
    Xml(#[from] XmlError),
}

fn describe(problems: &[PaymentFileProblem]) -> String {
    problems
        .iter()
        .map(|problem| format!("{}: {}", problem.field, problem.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn check_account(
    account: &BankAccount,
    field: &str,
    bic_required: bool,
) -> Vec<PaymentFileProblem> {
    let mut problems = Vec::new();
    let mut problem = |name: &str, message: String| {
        problems.push(PaymentFileProblem {
            field: format!("{field}.{name}"),
            message,
        });
    };
    if let Err(error) = checked_text(&account.holder_name, MAX_NAME_CHARS, TextKind::Identifier) {
        problem("holder_name", error.to_string());
    }
    if let AccountNumber::Other(number) = &account.number {
        if let Err(error) = checked_text(number, MAX_ACCOUNT_NUMBER_CHARS, TextKind::Identifier) {
            problem("number", error.to_string());
        }
        if account.bic.is_none() {
            problem(
                "bic",
                "an account that is no IBAN needs its bank's BIC".into(),
            );
        }
    }
    if bic_required && account.bic.is_none() {
        problem("bic", "the paying bank's BIC is required".into());
    }
    problems
}

fn check(file: &PaymentFile) -> Vec<PaymentFileProblem> {
    let mut problems = Vec::new();
    let mut problem = |field: String, message: &str| {
        problems.push(PaymentFileProblem {
            field,
            message: message.to_owned(),
        });
    };
    check_identifiers(file, &mut problem);
    problems.extend(check_account(&file.debtor, "debtor", true));
    for (index, transfer) in file.transfers.iter().enumerate() {
        problems.extend(check_account(
            &transfer.creditor,
            &format!("transfers[{index}].creditor"),
            false,
        ));
    }
    problems
}

fn check_identifiers(file: &PaymentFile, problem: &mut impl FnMut(String, &str)) {
    if checked_text(&file.message_id, MAX_IDENTIFIER_CHARS, TextKind::Identifier).is_err() {
        problem(
            "message_id".into(),
            "1 to 35 characters, no control character",
        );
    }
    if checked_text(&file.initiating_party, MAX_NAME_CHARS, TextKind::Identifier).is_err() {
        problem(
            "initiating_party".into(),
            "1 to 140 characters, no control character",
        );
    }
    if file.transfers.is_empty() {
        problem(
            "transfers".into(),
            "a payment file holds at least one transfer",
        );
    }
    if file.transfers.len() > MAX_TRANSFERS_PER_FILE {
        problem(
            "transfers".into(),
            "more transfers than one file may carry (10,000)",
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, transfer) in file.transfers.iter().enumerate() {
        let end_to_end = &transfer.end_to_end_id;
        if checked_text(end_to_end, MAX_IDENTIFIER_CHARS, TextKind::Identifier).is_err()
            || end_to_end.trim() != end_to_end
        {
            problem(
                format!("transfers[{index}].end_to_end_id"),
                "1 to 35 characters, no control character or surrounding space",
            );
        } else if !seen.insert(end_to_end.as_str()) {
            problem(
                format!("transfers[{index}].end_to_end_id"),
                "the same reference twice in one file",
            );
        }
        if !transfer.amount.is_positive() {
            problem(
                format!("transfers[{index}].amount"),
                "a transfer is positive",
            );
        }
        if let Some(remittance) = &transfer.remittance
            && checked_text(remittance, MAX_NAME_CHARS, TextKind::Identifier).is_err()
        {
            problem(
                format!("transfers[{index}].remittance"),
                "1 to 140 characters, no control character",
            );
        }
    }
}

/// The sum of amounts as ISO 20022's `CtrlSum` (a plain decimal sum, whatever the currencies).
fn control_sum<'a>(amounts: impl Iterator<Item = &'a Amount>) -> Result<String, PaymentFileError> {
    let mut sum = Decimal::ZERO;
    for amount in amounts {
        let value = Decimal::new(amount.minor(), u32::from(amount.currency().minor_units()));
        sum = sum.checked_add(value).ok_or_else(|| {
            PaymentFileError::Invalid(vec![PaymentFileProblem {
                field: "transfers".into(),
                message: "the amounts' sum overflows".into(),
            }])
        })?;
    }
    Ok(sum.to_string())
}

fn write_account(
    document: &mut XmlDocument,
    element: &str,
    account: &BankAccount,
) -> Result<(), XmlError> {
    document.open(element, &[])?;
    document.open("Id", &[])?;
    match &account.number {
        AccountNumber::Iban(iban) => document.leaf("IBAN", &[], iban.as_str())?,
        AccountNumber::Other(number) => {
            document.open("Othr", &[])?;
            document.leaf("Id", &[], number.trim())?;
            document.close("Othr")?;
        }
    }
    document.close("Id")?;
    document.leaf("Ccy", &[], account.currency.code())?;
    document.close(element)
}

fn write_agent(document: &mut XmlDocument, element: &str, bic: &Bic) -> Result<(), XmlError> {
    document.open(element, &[])?;
    document.open("FinInstnId", &[])?;
    document.leaf("BICFI", &[], bic.as_str())?;
    document.close("FinInstnId")?;
    document.close(element)
}

fn write_party(document: &mut XmlDocument, element: &str, name: &str) -> Result<(), XmlError> {
    document.open(element, &[])?;
    document.leaf("Nm", &[], name.trim())?;
    document.close(element)
}

/// The `pain.001.001.09` document of `file`, or every problem of its input.
pub fn build_pain001(file: &PaymentFile) -> Result<Vec<u8>, PaymentFileError> {
    let problems = check(file);
    if !problems.is_empty() {
        return Err(PaymentFileError::Invalid(problems));
    }
    // One block per execution date and currency, in date then currency order; inside a block,
    // transfers by reference: the order never depends on how the input was read.
    let mut blocks: BTreeMap<(NaiveDate, &'static str), Vec<&CreditTransfer>> = BTreeMap::new();
    for transfer in &file.transfers {
        blocks
            .entry((transfer.execution_date, transfer.amount.currency().code()))
            .or_default()
            .push(transfer);
    }
    for transfers in blocks.values_mut() {
        transfers.sort_by(|left, right| left.end_to_end_id.cmp(&right.end_to_end_id));
    }
    let created_at = file
        .created_at
        .to_datetime()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let message_prefix: String = file.message_id.chars().take(20).collect();
    let debtor_bic = file.debtor.bic.as_ref().ok_or_else(|| {
        PaymentFileError::Invalid(vec![PaymentFileProblem {
            field: "debtor.bic".into(),
            message: "the paying bank's BIC is required".into(),
        }])
    })?;

    let mut document = XmlDocument::new()?;
    document.open("Document", &[("xmlns", PAIN_001_NAMESPACE)])?;
    document.open("CstmrCdtTrfInitn", &[])?;
    document.open("GrpHdr", &[])?;
    document.leaf("MsgId", &[], &file.message_id)?;
    document.leaf("CreDtTm", &[], &created_at)?;
    document.leaf("NbOfTxs", &[], &file.transfers.len().to_string())?;
    document.leaf(
        "CtrlSum",
        &[],
        &control_sum(file.transfers.iter().map(|transfer| &transfer.amount))?,
    )?;
    write_party(&mut document, "InitgPty", &file.initiating_party)?;
    document.close("GrpHdr")?;
    for ((date, currency), transfers) in &blocks {
        document.open("PmtInf", &[])?;
        let block_id = format!("{message_prefix}-{}{currency}", date.format("%Y%m%d"));
        document.leaf("PmtInfId", &[], &block_id)?;
        document.leaf("PmtMtd", &[], "TRF")?;
        document.leaf("NbOfTxs", &[], &transfers.len().to_string())?;
        document.leaf(
            "CtrlSum",
            &[],
            &control_sum(transfers.iter().map(|transfer| &transfer.amount))?,
        )?;
        document.open("ReqdExctnDt", &[])?;
        document.leaf("Dt", &[], &date.format("%Y-%m-%d").to_string())?;
        document.close("ReqdExctnDt")?;
        write_party(&mut document, "Dbtr", &file.debtor.holder_name)?;
        write_account(&mut document, "DbtrAcct", &file.debtor)?;
        write_agent(&mut document, "DbtrAgt", debtor_bic)?;
        document.leaf("ChrgBr", &[], "DEBT")?;
        for transfer in transfers {
            document.open("CdtTrfTxInf", &[])?;
            document.open("PmtId", &[])?;
            document.leaf("EndToEndId", &[], &transfer.end_to_end_id)?;
            document.close("PmtId")?;
            document.open("Amt", &[])?;
            document.leaf(
                "InstdAmt",
                &[("Ccy", currency)],
                &transfer.amount.to_decimal_string(),
            )?;
            document.close("Amt")?;
            if let Some(bic) = &transfer.creditor.bic {
                write_agent(&mut document, "CdtrAgt", bic)?;
            }
            write_party(&mut document, "Cdtr", &transfer.creditor.holder_name)?;
            write_account(&mut document, "CdtrAcct", &transfer.creditor)?;
            if let Some(remittance) = &transfer.remittance {
                document.open("RmtInf", &[])?;
                document.leaf("Ustrd", &[], remittance.trim())?;
                document.close("RmtInf")?;
            }
            document.close("CdtTrfTxInf")?;
        }
        document.close("PmtInf")?;
    }
    document.close("CstmrCdtTrfInitn")?;
    document.close("Document")?;
    Ok(document.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: i64) -> Amount {
        Amount::from_minor(minor, Currency::eur()).unwrap()
    }

    fn account(name: &str, iban: &str, currency: &str) -> BankAccount {
        BankAccount {
            holder_name: name.into(),
            number: AccountNumber::Iban(Iban::parse(iban).unwrap()),
            bic: Some(Bic::parse("AGRIFRPP").unwrap()),
            currency: Currency::from_code(currency).unwrap(),
        }
    }

    fn transfer(reference: &str, amount: Amount, day: u32) -> CreditTransfer {
        CreditTransfer {
            end_to_end_id: reference.into(),
            amount,
            execution_date: NaiveDate::from_ymd_opt(2026, 12, day).unwrap(),
            creditor: account("Mutuelle <BF>", "BF42BF0840101300463574000390", "XOF"),
            remittance: Some("Solidarity euro 2026-11".into()),
        }
    }

    fn file(transfers: Vec<CreditTransfer>) -> PaymentFile {
        PaymentFile {
            message_id: "0193f0a1b2c37d4e8f9a0b1c2d3e4f50".into(),
            created_at: Timestamp::parse("2026-12-01T10:15:00Z").unwrap(),
            initiating_party: "Education and Solidarity Network".into(),
            debtor: account(
                "Education and Solidarity Network",
                "FR7630006000011234567890189",
                "EUR",
            ),
            transfers,
        }
    }

    #[test]
    fn ibans_are_checked_by_their_check_digits() {
        // Proves a typo in an IBAN is refused before a file is made, and spaces are allowed.
        assert!(Iban::parse("FR76 3000 6000 0112 3456 7890 189").is_ok());
        assert!(Iban::parse("FR7630006000011234567890188").is_err());
        assert!(Iban::parse("fr7630006000011234567890189").is_ok());
        assert!(Iban::parse("7630006000011234567890189").is_err());
        assert!(Bic::parse("AGRIFRPPXXX").is_ok());
        assert!(Bic::parse("AGRI12PP").is_err());
    }

    #[test]
    fn one_block_per_date_and_currency_charges_on_the_debtor_and_the_same_bytes_twice() {
        // Proves the grouping (two dates, two currencies: three blocks, in date then currency
        // order), DEBT on every block, the reference as EndToEndId, exact amounts (XOF without
        // decimals), escaped names, and that input order does not change the bytes.
        let xof = Amount::from_minor(819_946, Currency::from_code("XOF").unwrap()).unwrap();
        let transfers = vec![
            transfer("0193F0A1B2C37D4E8F9A0B1C2D3E4F51", eur(125_000), 1),
            transfer("0193F0A1B2C37D4E8F9A0B1C2D3E4F52", xof, 1),
            transfer("0193F0A1B2C37D4E8F9A0B1C2D3E4F53", eur(5), 2),
            transfer("0193F0A1B2C37D4E8F9A0B1C2D3E4F50", eur(100), 1),
        ];
        let first = build_pain001(&file(transfers.clone())).unwrap();
        let mut reversed = transfers;
        reversed.reverse();
        assert_eq!(first, build_pain001(&file(reversed)).unwrap());
        let text = String::from_utf8(first).unwrap();
        assert_eq!(text.matches("<PmtInf>").count(), 3);
        assert_eq!(text.matches("<ChrgBr>DEBT</ChrgBr>").count(), 3);
        assert!(text.contains("<NbOfTxs>4</NbOfTxs>"));
        assert!(text.contains("<CtrlSum>821197.05</CtrlSum>"), "{text}");
        assert!(text.contains(r#"<InstdAmt Ccy="XOF">819946</InstdAmt>"#));
        assert!(text.contains(r#"<InstdAmt Ccy="EUR">1250.00</InstdAmt>"#));
        assert!(text.contains("<CreDtTm>2026-12-01T10:15:00Z</CreDtTm>"));
        assert!(text.contains("<Nm>Mutuelle &lt;BF&gt;</Nm>"));
        let order: Vec<usize> = ["-20261201EUR", "-20261201XOF", "-20261202EUR"]
            .iter()
            .map(|id| text.find(id).unwrap())
            .collect();
        assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "{order:?}");
        let within = [
            "0193F0A1B2C37D4E8F9A0B1C2D3E4F50",
            "0193F0A1B2C37D4E8F9A0B1C2D3E4F51",
        ]
        .map(|id| {
            text.find(&format!("<EndToEndId>{id}</EndToEndId>"))
                .unwrap()
        });
        assert!(within[0] < within[1]);
    }

    #[test]
    fn every_problem_of_the_input_is_named_at_once() {
        // Proves a reference over 35 characters, a duplicate reference, a zero amount, a
        // national account number without a BIC and a debtor without a BIC are each refused, by
        // field, in one answer, and that an empty run makes no file.
        let mut long = transfer(&"A".repeat(36), eur(100), 1);
        long.creditor.number = AccountNumber::Other("00123 456".into());
        long.creditor.bic = None;
        let twice = transfer("REF1", eur(100), 1);
        let zero = transfer("REF1", eur(0), 1);
        let mut input = file(vec![long, twice, zero]);
        input.debtor.bic = None;
        let Err(PaymentFileError::Invalid(problems)) = build_pain001(&input) else {
            panic!("refused expected");
        };
        let fields: Vec<&str> = problems
            .iter()
            .map(|problem| problem.field.as_str())
            .collect();
        assert_eq!(
            fields,
            [
                "transfers[0].end_to_end_id",
                "transfers[2].end_to_end_id",
                "transfers[2].amount",
                "debtor.bic",
                "transfers[0].creditor.bic",
            ]
        );
        assert!(matches!(
            build_pain001(&file(Vec::new())),
            Err(PaymentFileError::Invalid(problems)) if problems[0].field == "transfers"
        ));
    }
}
