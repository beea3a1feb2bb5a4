//! How the entries of a bank statement meet the books: which batch a credit pays (its ISO 11649
//! creditor reference, checked), which batches to propose for a credit that pays none exactly
//! (same amount, payer named like the contributor), which entries are bank charges, what a
//! transfer debit's charges add to the books once the transfer's expected fee is booked, and which
//! reference a receipt keeps from its statement line.

use uuid::Uuid;

use crate::camt053::StatementEntry;
use crate::money::{Amount, AmountError};
use crate::payment_reference::{CreditorReference, ReferenceError};

/// The most batches proposed for one unmatched credit.
pub const MAX_PROPOSALS: usize = 5;
/// The fewest letters and digits of a name for it to match another by containment (shorter names,
/// such as initials, match only exactly).
pub const MIN_CONTAINED_NAME_CHARS: usize = 4;

/// The creditor reference a credit quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotedReference {
    /// None of its transactions quotes a structured reference.
    Absent,
    /// A valid ISO 11649 reference.
    Valid(CreditorReference),
    /// A reference whose form or check digits are wrong: as written, and why.
    Invalid {
        written: String,
        reason: ReferenceError,
    },
}

/// The first structured creditor reference (`RmtInf/Strd/CdtrRefInf/Ref`) of the entry's
/// transactions, checked.
pub fn quoted_reference(entry: &StatementEntry) -> QuotedReference {
    let Some(written) = entry
        .transactions
        .iter()
        .find_map(|transaction| transaction.creditor_reference.as_deref())
    else {
        return QuotedReference::Absent;
    };
    match CreditorReference::parse(written) {
        Ok(reference) => QuotedReference::Valid(reference),
        Err(reason) => QuotedReference::Invalid {
            written: written.to_owned(),
            reason,
        },
    }
}

/// Whether an entry is a bank charge: ISO's sub-family code `CHRG` ("charges", used under several
/// domains and families, e.g. `ACMT/MDOP/CHRG`) or the proprietary code `CHRG`.
pub fn is_charge(entry: &StatementEntry) -> bool {
    let code = &entry.bank_transaction_code;
    code.sub_family.as_deref() == Some("CHRG") || code.proprietary.as_deref() == Some("CHRG")
}

/// What a statement's charges (`Chrgs`) on a transfer's debit add to fee coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferCharges {
    /// No expected fee stands for these charges (the line is no transfer's): the whole charge is
    /// booked.
    Full(Amount),
    /// The bank charged more than the expected fee the settlement booked: only the excess is.
    Excess {
        expected_fee: Amount,
        excess: Amount,
    },
    /// The bank charged no more than the expected fee the settlement booked: nothing more is
    /// booked (the difference, if any, stays where the settlement put it).
    CoveredByExpectedFee { expected_fee: Amount },
}

impl TransferCharges {
    /// The amount to book as a bank charge, if any.
    pub fn to_book(&self) -> Option<Amount> {
        match self {
            TransferCharges::Full(amount) | TransferCharges::Excess { excess: amount, .. } => {
                amount.is_positive().then_some(*amount)
            }
            TransferCharges::CoveredByExpectedFee { .. } => None,
        }
    }
}

/// **Charges beyond the expected fee.** An executed transfer's expected fee was reserved from fee
/// coverage at its execution and is paid to the bank by its settlement (before or after the
/// statement arrives); the bank's actual charges on the transfer's debit are then booked only for
/// what exceeds that fee, and not at all when they are lower or equal, so a fee is never counted
/// twice. `expected_fee_booked` is that expected fee, `None` for charges no transfer's fee stands
/// for (they are then booked in full).
pub fn charges_beyond_expected_fee(
    actual: Amount,
    expected_fee_booked: Option<Amount>,
) -> Result<TransferCharges, AmountError> {
    let Some(expected_fee) = expected_fee_booked else {
        return Ok(TransferCharges::Full(actual));
    };
    let excess = actual.checked_sub(expected_fee)?;
    Ok(if excess.is_positive() {
        TransferCharges::Excess {
            expected_fee,
            excess,
        }
    } else {
        TransferCharges::CoveredByExpectedFee { expected_fee }
    })
}

/// The end-to-end ids of the entry's transactions (a debit's: our transfers' references).
pub fn end_to_end_ids(entry: &StatementEntry) -> Vec<&str> {
    entry
        .transactions
        .iter()
        .filter_map(|transaction| transaction.end_to_end_id.as_deref())
        .filter(|id| *id != "NOTPROVIDED")
        .collect()
}

/// The payer named by a credit (the first transaction's debtor).
pub fn payer_name(entry: &StatementEntry) -> Option<&str> {
    entry
        .transactions
        .iter()
        .find_map(|transaction| transaction.debtor_name.as_deref())
}

/// The reference a receipt keeps from its statement line: the bank's own reference of the entry
/// (`AcctSvcrRef`), else the entry's (`NtryRef`), else the transaction's bank reference, else its
/// end-to-end id; `None` if the line has none.
pub fn bank_reference(entry: &StatementEntry) -> Option<&str> {
    entry
        .account_servicer_reference
        .as_deref()
        .or(entry.entry_reference.as_deref())
        .or_else(|| {
            entry.transactions.iter().find_map(|transaction| {
                transaction
                    .account_servicer_reference
                    .as_deref()
                    .or(transaction.end_to_end_id.as_deref())
            })
        })
}

/// Whether a credit settles exactly what a batch still owes: only then is it booked as the
/// batch's receipt without a person looking at it.
pub fn settles_exactly(credit: Amount, outstanding_minor: i64) -> bool {
    outstanding_minor > 0 && credit.minor() == outstanding_minor
}

/// A batch a credit might pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub batch_id: Uuid,
    pub outstanding_minor: i64,
    pub contributor_name: String,
}

/// A batch proposed for an unmatched credit, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub batch_id: Uuid,
    /// The credit is exactly what the batch still owes.
    pub same_amount: bool,
    /// The payer is named like the batch's contributor.
    pub payer_matches: bool,
}

/// The batches to propose for a credit of `amount` from `payer`: those owing exactly the amount
/// and those whose contributor is named like the payer, both reasons first, then same amount, then
/// payer, at most [`MAX_PROPOSALS`].
pub fn proposals(amount: Amount, payer: Option<&str>, candidates: &[Candidate]) -> Vec<Proposal> {
    let mut found: Vec<Proposal> = candidates
        .iter()
        .map(|candidate| Proposal {
            batch_id: candidate.batch_id,
            same_amount: settles_exactly(amount, candidate.outstanding_minor),
            payer_matches: payer
                .is_some_and(|payer| same_party(payer, &candidate.contributor_name)),
        })
        .filter(|proposal| proposal.same_amount || proposal.payer_matches)
        .collect();
    found.sort_by_key(|proposal| {
        (
            !(proposal.same_amount && proposal.payer_matches),
            !proposal.same_amount,
            proposal.batch_id,
        )
    });
    found.truncate(MAX_PROPOSALS);
    found
}

/// Whether two names name the same party: equal once reduced to lower-case letters and digits, or
/// one containing the other when it has at least [`MIN_CONTAINED_NAME_CHARS`] of them (a bank
/// shortens `Syndicat CGT Éducation Lyon` to `SYNDICAT CGT EDUCATION`).
pub fn same_party(one: &str, other: &str) -> bool {
    let (one, other) = (reduced(one), reduced(other));
    if one.is_empty() || other.is_empty() {
        return false;
    }
    let (shorter, longer) = if one.chars().count() <= other.chars().count() {
        (&one, &other)
    } else {
        (&other, &one)
    };
    shorter == longer
        || (shorter.chars().count() >= MIN_CONTAINED_NAME_CHARS
            && longer.contains(shorter.as_str()))
}

/// A name as lower-case letters and digits, the accents of Latin letters dropped.
fn reduced(name: &str) -> String {
    name.chars()
        .map(without_accent)
        .filter(|letter| letter.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn without_accent(letter: char) -> char {
    match letter {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'ç' => 'c',
        'Ç' => 'C',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'ñ' => 'n',
        'Ñ' => 'N',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => 'O',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camt053::{BankTransactionCode, CreditDebit, TransactionDetails};
    use crate::money::Currency;

    fn credit(minor: i64, transactions: Vec<TransactionDetails>) -> StatementEntry {
        StatementEntry {
            line: 1,
            amount: Amount::from_minor(minor, Currency::eur()).unwrap(),
            direction: CreditDebit::Credit,
            status: "BOOK".to_owned(),
            booking_date: None,
            value_date: None,
            entry_reference: None,
            account_servicer_reference: None,
            bank_transaction_code: BankTransactionCode::default(),
            charges: None,
            transactions,
        }
    }

    #[test]
    fn a_quoted_reference_is_checked() {
        // Proves a credit's structured reference is read with its check digits verified: a valid
        // one (spaces and case as people type them) is found, a mistyped one is told apart from
        // an absent one.
        let reference = CreditorReference::with_body("539007547034").unwrap();
        let quoting = |written: &str| {
            credit(
                100,
                vec![TransactionDetails {
                    creditor_reference: Some(written.to_owned()),
                    ..TransactionDetails::default()
                }],
            )
        };
        assert_eq!(
            quoted_reference(&quoting(&reference.printed().to_lowercase())),
            QuotedReference::Valid(reference.clone())
        );
        assert!(matches!(
            quoted_reference(&quoting("RF19539007547034")),
            QuotedReference::Invalid {
                reason: ReferenceError::WrongCheckDigits,
                ..
            }
        ));
        assert_eq!(
            quoted_reference(&credit(100, vec![])),
            QuotedReference::Absent
        );
    }

    #[test]
    fn proposals_put_both_reasons_first() {
        // Proves an unmatched credit is proposed the batches owing its amount and those of a
        // contributor named like the payer (accents, case and a shortened name aside), the batch
        // with both reasons first, and nothing else.
        let batch = |n: u128| Uuid::from_u128(n);
        let candidates = vec![
            Candidate {
                batch_id: batch(1),
                outstanding_minor: 5_000,
                contributor_name: "Union des mutuelles".to_owned(),
            },
            Candidate {
                batch_id: batch(2),
                outstanding_minor: 12_000,
                contributor_name: "Syndicat CGT Éducation Lyon".to_owned(),
            },
            Candidate {
                batch_id: batch(3),
                outstanding_minor: 5_000,
                contributor_name: "Syndicat CGT Éducation Lyon".to_owned(),
            },
            Candidate {
                batch_id: batch(4),
                outstanding_minor: 7_000,
                contributor_name: "Other".to_owned(),
            },
        ];
        let amount = Amount::from_minor(5_000, Currency::eur()).unwrap();
        let found = proposals(amount, Some("SYNDICAT CGT EDUCATION"), &candidates);
        let order: Vec<(Uuid, bool, bool)> = found
            .iter()
            .map(|proposal| {
                (
                    proposal.batch_id,
                    proposal.same_amount,
                    proposal.payer_matches,
                )
            })
            .collect();
        assert_eq!(
            order,
            vec![
                (batch(3), true, true),
                (batch(1), true, false),
                (batch(2), false, true)
            ]
        );
        assert!(proposals(amount, None, &candidates[3..]).is_empty());
        assert!(!same_party("CGT", "CGT Lyon"));
        assert!(same_party("cgt", "C.G.T."));
    }

    #[test]
    fn a_settled_transfers_charges_are_booked_beyond_its_expected_fee_only() {
        // Proves a fee is never counted twice: once the settlement booked the expected fee, charges
        // equal to or below it book nothing, charges above it book only the excess; without a
        // booked expected fee the whole charge is booked; another currency is refused.
        let eur = |minor: i64| Amount::from_minor(minor, Currency::eur()).unwrap();
        let fee = eur(1_800);
        assert_eq!(
            charges_beyond_expected_fee(eur(1_800), Some(fee)).unwrap(),
            TransferCharges::CoveredByExpectedFee { expected_fee: fee }
        );
        assert_eq!(
            charges_beyond_expected_fee(eur(1_800), Some(fee))
                .unwrap()
                .to_book(),
            None
        );
        assert_eq!(
            charges_beyond_expected_fee(eur(900), Some(fee))
                .unwrap()
                .to_book(),
            None
        );
        let above = charges_beyond_expected_fee(eur(2_050), Some(fee)).unwrap();
        assert_eq!(
            above,
            TransferCharges::Excess {
                expected_fee: fee,
                excess: eur(250)
            }
        );
        assert_eq!(above.to_book(), Some(eur(250)));
        assert_eq!(
            charges_beyond_expected_fee(eur(250), None)
                .unwrap()
                .to_book(),
            Some(eur(250))
        );
        assert_eq!(
            charges_beyond_expected_fee(eur(0), None).unwrap().to_book(),
            None
        );
        let xof = Amount::from_minor(100, Currency::from_code("XOF").unwrap()).unwrap();
        assert!(charges_beyond_expected_fee(xof, Some(fee)).is_err());
    }

    #[test]
    fn charges_and_references_are_read_from_the_codes() {
        // Proves a charge is recognised by its ISO sub-family or proprietary code, and a receipt
        // keeps the bank's own reference of the line before the entry's and the transaction's.
        let mut entry = credit(
            100,
            vec![TransactionDetails {
                end_to_end_id: Some("E2E".to_owned()),
                ..TransactionDetails::default()
            }],
        );
        assert!(!is_charge(&entry));
        assert_eq!(bank_reference(&entry), Some("E2E"));
        entry.entry_reference = Some("NTRY".to_owned());
        assert_eq!(bank_reference(&entry), Some("NTRY"));
        entry.account_servicer_reference = Some("BANK".to_owned());
        assert_eq!(bank_reference(&entry), Some("BANK"));
        entry.bank_transaction_code.sub_family = Some("CHRG".to_owned());
        assert!(is_charge(&entry));
        entry.bank_transaction_code = BankTransactionCode {
            proprietary: Some("CHRG".to_owned()),
            ..BankTransactionCode::default()
        };
        assert!(is_charge(&entry));
    }
}
