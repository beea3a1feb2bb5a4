//! Contributions: a batch pledged, its bank receipts, its reversal.

use serde::Serialize;
use uuid::Uuid;

use super::{BalanceBound, BalanceGuard, Entry, Header, PostingError, entry, leg};
use crate::memo::Reason;
use crate::{
    Account, Amount, AmountError, Currency, FundDate, OrganisationId, Period, TransactionKind,
    chart,
};

/// A contribution batch being pledged.
#[derive(Debug, Clone)]
pub struct Pledge<'a> {
    pub batch_id: Uuid,
    pub programme_id: Uuid,
    pub contributor: OrganisationId,
    pub period: &'a Period,
    /// Members on the batch's solidarity lines.
    pub members: u64,
    /// The batch total (solidarity lines and donations).
    pub amount: Amount,
    pub earmark: Option<OrganisationId>,
}

/// The metadata of a pledge.
#[derive(Debug, Serialize)]
struct PledgeMetadata {
    batch_id: String,
    programme_id: String,
    period: String,
    contributor_id: String,
    members: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    earmark_beneficiary_id: Option<String>,
}

/// **Pledge** (a batch submitted): Dr `batch:<id>:receivable` / Cr `programme:<id>:pledged`, the
/// batch total. Opens the batch's receivable.
pub fn pledge(header: Header, pledge: &Pledge<'_>) -> Result<Entry, PostingError> {
    let currency = pledge.amount.currency();
    let receivable = chart::batch_receivable(pledge.batch_id, pledge.contributor, currency);
    let pledged = chart::programme_pledged(pledge.programme_id, currency);
    let metadata = PledgeMetadata {
        batch_id: pledge.batch_id.to_string(),
        programme_id: pledge.programme_id.to_string(),
        period: pledge.period.to_string(),
        contributor_id: pledge.contributor.to_string(),
        members: pledge.members,
        earmark_beneficiary_id: pledge.earmark.map(|id| id.to_string()),
    };
    let transaction = entry(
        header,
        TransactionKind::Pledge,
        format!(
            "Contribution batch {}: {} members",
            pledge.period, pledge.members
        ),
        &metadata,
        vec![
            leg(&receivable, pledge.amount),
            leg(&pledged, pledge.amount.negated()),
        ],
        &[&receivable, &pledged],
    )?;
    Ok(Entry {
        transaction,
        opens: vec![receivable],
        guards: Vec::new(),
    })
}

/// The account a batch's money enters: the programme's pool, or the fund earmarked for one
/// beneficiary.
pub fn destination(
    programme_id: Uuid,
    earmark: Option<OrganisationId>,
    currency: Currency,
) -> Account {
    match earmark {
        Some(beneficiary) => chart::programme_earmarked(programme_id, beneficiary, currency),
        None => chart::programme_pool(programme_id, currency),
    }
}

/// How a receipt of *R* divides: *A* = min(*R*, still due) settles the batch, *R − A* is an
/// overpayment (a donation to the pool or the earmarked fund).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptSplit {
    amount: Amount,
    applied: Amount,
    overpayment: Amount,
}

impl ReceiptSplit {
    /// Splits `amount` against what is still due (`outstanding`, in the same currency).
    pub fn of(amount: Amount, outstanding: Amount) -> Result<ReceiptSplit, AmountError> {
        let applied = if amount.minor() > outstanding.minor() {
            outstanding
        } else {
            amount
        };
        let overpayment = amount.checked_sub(applied)?;
        Ok(ReceiptSplit {
            amount,
            applied,
            overpayment,
        })
    }

    /// *R*: what the bank credited.
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// *A*: the part that settles what was due.
    pub fn applied(&self) -> Amount {
        self.applied
    }

    /// *R − A*: the part above what was due.
    pub fn overpayment(&self) -> Amount {
        self.overpayment
    }
}

/// A bank receipt for a batch.
#[derive(Debug, Clone)]
pub struct Receipt<'a> {
    pub batch_id: Uuid,
    pub receipt_id: Uuid,
    pub programme_id: Uuid,
    pub contributor: OrganisationId,
    pub earmark: Option<OrganisationId>,
    pub period: &'a Period,
    pub split: ReceiptSplit,
    /// The bank's value date: the transaction's accounting date is the header's.
    pub value_date: FundDate,
    pub bank_reference: &'a str,
}

/// The metadata of a receipt.
#[derive(Debug, Serialize)]
struct ReceiptMetadata {
    batch_id: String,
    receipt_id: String,
    bank_reference: String,
    value_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    overpayment: Option<String>,
}

/// **Receipt** of *R* with *A* = min(*R*, still due), and its **overpayment** *R − A*: Dr
/// `fund:bank` *R*; Cr `batch:<id>:receivable` *A*; Dr `programme:<id>:pledged` *A*; Cr
/// `programme:<id>:pool` (or `earmarked`) *R*. Opens the bank and destination accounts; guards the
/// receivable (a debit balance) at or above zero, so concurrent receipts never receive more than
/// is due.
pub fn receipt(header: Header, receipt: &Receipt<'_>) -> Result<Entry, PostingError> {
    let split = receipt.split;
    let currency = split.amount.currency();
    let bank = chart::fund_bank(currency);
    let receivable = chart::batch_receivable(receipt.batch_id, receipt.contributor, currency);
    let pledged = chart::programme_pledged(receipt.programme_id, currency);
    let fund = destination(receipt.programme_id, receipt.earmark, currency);
    let mut legs = vec![leg(&bank, split.amount)];
    if split.applied.is_positive() {
        legs.push(leg(&receivable, split.applied.negated()));
        legs.push(leg(&pledged, split.applied));
    }
    legs.push(leg(&fund, split.amount.negated()));
    let metadata = ReceiptMetadata {
        batch_id: receipt.batch_id.to_string(),
        receipt_id: receipt.receipt_id.to_string(),
        bank_reference: receipt.bank_reference.to_owned(),
        value_date: receipt.value_date.to_string(),
        overpayment: split
            .overpayment
            .is_positive()
            .then(|| split.overpayment.to_decimal_string()),
    };
    let transaction = entry(
        header,
        TransactionKind::Receipt,
        format!(
            "Bank receipt {} for batch {}",
            receipt.bank_reference, receipt.period
        ),
        &metadata,
        legs,
        &[&bank, &receivable, &pledged, &fund],
    )?;
    Ok(Entry {
        transaction,
        guards: vec![BalanceGuard {
            account_id: receivable.id,
            bound: BalanceBound::AtLeast(0),
        }],
        opens: vec![bank, fund],
    })
}

/// A batch being reversed.
#[derive(Debug, Clone)]
pub struct BatchReversal<'a> {
    pub batch_id: Uuid,
    pub programme_id: Uuid,
    pub contributor: OrganisationId,
    pub earmark: Option<OrganisationId>,
    pub period: &'a Period,
    /// The pledge's transaction, which this one reverses.
    pub pledge_transaction: Uuid,
    pub reason: &'a Reason,
    /// What was still due: the pledge cancelled.
    pub cancelled: Amount,
    /// What was received: taken back out of the fund to be refunded.
    pub refunded: Amount,
}

/// The metadata of a batch reversal.
#[derive(Debug, Serialize)]
struct BatchReversalMetadata {
    batch_id: String,
    reverses: String,
}

/// **Reversal** of a batch and its **refund**: Dr `programme:<id>:pledged` / Cr
/// `batch:<id>:receivable` what is still due; Dr pool (or earmarked) / Cr `fund:bank` what was
/// received. Guards the fund (a credit balance) at or below zero: if the batch's money has been
/// allocated, the fund cannot give it back and the reversal is refused.
pub fn batch_reversal(header: Header, reversal: &BatchReversal<'_>) -> Result<Entry, PostingError> {
    let currency = reversal.cancelled.currency();
    let bank = chart::fund_bank(currency);
    let receivable = chart::batch_receivable(reversal.batch_id, reversal.contributor, currency);
    let pledged = chart::programme_pledged(reversal.programme_id, currency);
    let fund = destination(reversal.programme_id, reversal.earmark, currency);
    let mut legs = Vec::new();
    if reversal.cancelled.is_positive() {
        legs.push(leg(&pledged, reversal.cancelled));
        legs.push(leg(&receivable, reversal.cancelled.negated()));
    }
    if reversal.refunded.is_positive() {
        legs.push(leg(&fund, reversal.refunded));
        legs.push(leg(&bank, reversal.refunded.negated()));
    }
    let metadata = BatchReversalMetadata {
        batch_id: reversal.batch_id.to_string(),
        reverses: reversal.pledge_transaction.to_string(),
    };
    let transaction = entry(
        header,
        TransactionKind::Reversal,
        crate::memo::batch_reversal(reversal.period, reversal.reason),
        &metadata,
        legs,
        &[&bank, &receivable, &pledged, &fund],
    )?;
    Ok(Entry {
        transaction,
        opens: Vec::new(),
        guards: vec![BalanceGuard {
            account_id: fund.id,
            bound: BalanceBound::AtMost(0),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_balanced, header};
    use super::*;
    use crate::PeriodKind;

    #[test]
    fn a_pledge_debits_the_batch_receivable_and_credits_the_pledged_account() {
        // Proves the pledge row of docs/accounts.md: two legs of the batch total, balanced, the
        // receivable opened, the earmark recorded only when there is one.
        let period = Period::parse("2026-11", PeriodKind::Month).unwrap();
        let amount = Amount::parse("1250.00", Currency::eur()).unwrap();
        let input = Pledge {
            batch_id: Uuid::from_u128(10),
            programme_id: Uuid::from_u128(11),
            contributor: OrganisationId::from_uuid(Uuid::from_u128(12)),
            period: &period,
            members: 1250,
            amount,
            earmark: None,
        };
        let booked = pledge(header(), &input).unwrap();
        assert_balanced(&booked.transaction);
        let receivable =
            chart::batch_receivable(input.batch_id, input.contributor, Currency::eur());
        assert_eq!(booked.opens, vec![receivable.clone()]);
        assert_eq!(booked.transaction.postings()[0].account_id, receivable.id);
        assert_eq!(booked.transaction.postings()[0].amount, amount);
        assert!(booked.guards.is_empty());
        assert!(!booked.transaction.metadata_json().contains("earmark"));
        let earmarked = pledge(
            header(),
            &Pledge {
                earmark: Some(OrganisationId::from_uuid(Uuid::from_u128(13))),
                ..input
            },
        )
        .unwrap();
        assert!(
            earmarked
                .transaction
                .metadata_json()
                .contains("earmark_beneficiary_id")
        );
    }

    fn eur(text: &str) -> Amount {
        Amount::parse(text, Currency::eur()).unwrap()
    }

    fn metadata(entry: &Entry) -> serde_json::Value {
        serde_json::from_str(entry.transaction.metadata_json()).unwrap()
    }

    #[test]
    fn a_receipt_settles_what_is_due_and_books_the_excess_as_an_overpayment() {
        // Proves the receipt row: Dr bank R, Cr receivable A, Dr pledged A, Cr pool R with
        // A = min(R, due); the overpayment R - A is named in the metadata only when there is one;
        // the guard keeps the receivable at or above zero; bank and pool are opened.
        let period = Period::parse("2026-11", PeriodKind::Month).unwrap();
        let programme_id = Uuid::from_u128(11);
        let contributor = OrganisationId::from_uuid(Uuid::from_u128(12));
        let input = Receipt {
            batch_id: Uuid::from_u128(10),
            receipt_id: Uuid::from_u128(20),
            programme_id,
            contributor,
            earmark: None,
            period: &period,
            split: ReceiptSplit::of(eur("120.00"), eur("100.00")).unwrap(),
            value_date: FundDate::from_ymd(2026, 11, 28).unwrap(),
            bank_reference: "E2E-1",
        };
        assert_eq!(input.split.applied(), eur("100.00"));
        assert_eq!(input.split.overpayment(), eur("20.00"));
        let booked = receipt(header(), &input).unwrap();
        assert_balanced(&booked.transaction);
        let receivable = chart::batch_receivable(input.batch_id, contributor, Currency::eur());
        let pool = chart::programme_pool(programme_id, Currency::eur());
        let legs: Vec<_> = booked
            .transaction
            .postings()
            .iter()
            .map(|posting| (posting.account_id, posting.amount.minor()))
            .collect();
        assert_eq!(
            legs,
            vec![
                (chart::fund_bank(Currency::eur()).id, 12_000),
                (receivable.id, -10_000),
                (
                    chart::programme_pledged(programme_id, Currency::eur()).id,
                    10_000
                ),
                (pool.id, -12_000),
            ]
        );
        assert_eq!(
            booked.guards,
            vec![BalanceGuard {
                account_id: receivable.id,
                bound: BalanceBound::AtLeast(0),
            }]
        );
        assert_eq!(booked.opens, vec![chart::fund_bank(Currency::eur()), pool]);
        assert_eq!(
            metadata(&booked),
            serde_json::json!({
                "batch_id": input.batch_id.to_string(),
                "receipt_id": input.receipt_id.to_string(),
                "bank_reference": "E2E-1",
                "value_date": "2026-11-28",
                "overpayment": "20.00",
            })
        );
        assert_eq!(
            booked.transaction.memo(),
            "Bank receipt E2E-1 for batch 2026-11"
        );
        // A partial receipt has no overpayment; a receipt on a settled batch touches neither the
        // receivable nor the pledge (all of it is a donation).
        let partial = receipt(
            header(),
            &Receipt {
                split: ReceiptSplit::of(eur("40.00"), eur("100.00")).unwrap(),
                ..input.clone()
            },
        )
        .unwrap();
        assert_eq!(partial.transaction.postings().len(), 4);
        assert!(metadata(&partial).get("overpayment").is_none());
        let donation = receipt(
            header(),
            &Receipt {
                split: ReceiptSplit::of(eur("5.00"), eur("0.00")).unwrap(),
                ..input
            },
        )
        .unwrap();
        assert_balanced(&donation.transaction);
        assert_eq!(donation.transaction.postings().len(), 2);
    }

    #[test]
    fn an_earmarked_receipt_enters_the_beneficiarys_fund() {
        // Proves the destination rule: an earmarked batch's money is credited to the earmarked
        // account, not the pool.
        let period = Period::parse("2026", PeriodKind::Year).unwrap();
        let beneficiary = OrganisationId::from_uuid(Uuid::from_u128(13));
        let booked = receipt(
            header(),
            &Receipt {
                batch_id: Uuid::from_u128(10),
                receipt_id: Uuid::from_u128(20),
                programme_id: Uuid::from_u128(11),
                contributor: OrganisationId::from_uuid(Uuid::from_u128(12)),
                earmark: Some(beneficiary),
                period: &period,
                split: ReceiptSplit::of(eur("10.00"), eur("10.00")).unwrap(),
                value_date: FundDate::from_ymd(2026, 1, 5).unwrap(),
                bank_reference: "R",
            },
        )
        .unwrap();
        let earmarked =
            chart::programme_earmarked(Uuid::from_u128(11), beneficiary, Currency::eur());
        assert_eq!(booked.opens[1], earmarked);
        assert_eq!(
            booked
                .transaction
                .postings()
                .last()
                .map(|posting| posting.account_id),
            Some(earmarked.id)
        );
    }

    #[test]
    fn a_batch_reversal_cancels_what_is_due_and_refunds_what_was_received() {
        // Proves the reversal row: Dr pledged / Cr receivable the outstanding amount, Dr pool /
        // Cr bank the received amount, guarded by the fund staying in credit; the memo carries the
        // reason and the metadata names the reversed pledge.
        let period = Period::parse("2026-Q4", PeriodKind::Quarter).unwrap();
        let reason = Reason::parse("duplicate submission").unwrap();
        let programme_id = Uuid::from_u128(11);
        let contributor = OrganisationId::from_uuid(Uuid::from_u128(12));
        let input = BatchReversal {
            batch_id: Uuid::from_u128(10),
            programme_id,
            contributor,
            earmark: None,
            period: &period,
            pledge_transaction: Uuid::from_u128(30),
            reason: &reason,
            cancelled: eur("60.00"),
            refunded: eur("40.00"),
        };
        let booked = batch_reversal(header(), &input).unwrap();
        assert_balanced(&booked.transaction);
        let pool = chart::programme_pool(programme_id, Currency::eur());
        let legs: Vec<_> = booked
            .transaction
            .postings()
            .iter()
            .map(|posting| (posting.account_id, posting.amount.minor()))
            .collect();
        assert_eq!(
            legs,
            vec![
                (
                    chart::programme_pledged(programme_id, Currency::eur()).id,
                    6_000
                ),
                (
                    chart::batch_receivable(input.batch_id, contributor, Currency::eur()).id,
                    -6_000
                ),
                (pool.id, 4_000),
                (chart::fund_bank(Currency::eur()).id, -4_000),
            ]
        );
        assert_eq!(
            booked.guards,
            vec![BalanceGuard {
                account_id: pool.id,
                bound: BalanceBound::AtMost(0),
            }]
        );
        assert!(booked.opens.is_empty());
        assert_eq!(
            metadata(&booked),
            serde_json::json!({
                "batch_id": input.batch_id.to_string(),
                "reverses": Uuid::from_u128(30).to_string(),
            })
        );
        assert_eq!(
            booked.transaction.memo(),
            crate::memo::batch_reversal(&period, &reason)
        );
        // A batch never received is only cancelled: two legs.
        let unpaid = batch_reversal(
            header(),
            &BatchReversal {
                refunded: eur("0.00"),
                ..input
            },
        )
        .unwrap();
        assert_eq!(unpaid.transaction.postings().len(), 2);
    }
}
