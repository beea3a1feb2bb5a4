//! Settlements: a beneficiary's confirmation of what arrived (or the network's, resolving a
//! disputed claim), the top-up a shortfall needs, and held funds returned to the pool.

use serde::Serialize;
use uuid::Uuid;

use super::{BalanceBound, BalanceGuard, Entry, Header, PostingError, entry, leg};
use crate::memo::Reason;
use crate::organisation::Slug;
use crate::{AccountId, Amount, FundDate, OrganisationId, TransactionKind, chart};

/// A transfer being settled with what arrived.
#[derive(Debug, Clone)]
pub struct Settlement<'a> {
    pub transfer_id: Uuid,
    pub beneficiary: OrganisationId,
    pub beneficiary_slug: &'a Slug,
    /// The transfer's ISO 20022 EndToEndId, named in the memo.
    pub end_to_end_id: &'a str,
    /// What the transfer sent (EUR).
    pub sent: Amount,
    /// The sending fee reserved for it from fee coverage (EUR).
    pub fee: Amount,
    /// What arrived, in the beneficiary's currency.
    pub received: Amount,
    /// The value date on the bank statement: the settlement's accounting date.
    pub value_date: FundDate,
    pub bank_reference: &'a str,
}

/// The evidence of a disputed claim's resolution, carried in its settlement's metadata.
#[derive(Debug, Clone)]
pub struct Resolution<'a> {
    pub dispute_id: Uuid,
    /// What the beneficiary had claimed arrived (its currency).
    pub claimed_received: Amount,
    pub claimed_by: &'a str,
    pub resolved_by: &'a str,
    pub bank_statement_reference: &'a str,
    pub reason: &'a str,
}

/// The metadata of a settlement.
#[derive(Debug, Serialize)]
struct SettlementMetadata {
    transfer_id: String,
    bank_reference: String,
    value_date: String,
    received: String,
    received_currency: String,
    #[serde(flatten)]
    resolution: Option<ResolutionMetadata>,
}

/// What a resolved claim adds to its settlement's metadata.
#[derive(Debug, Serialize)]
struct ResolutionMetadata {
    dispute_id: String,
    claimed_received: String,
    claimed_by: String,
    dispute_resolved_by: String,
    bank_statement_reference: String,
    dispute_resolution_reason: String,
}

/// **Settlement** (the beneficiary confirms *L* local units received), dated at the value date:
/// EUR side Dr `transfer:<t>:in_transit` / Cr `fund:bank:eur` the amount sent, and the sending fee
/// Dr `fee_coverage:reserved` / Cr `fund:bank:eur` (when there is one); local side Dr
/// `fx:conversion:<cur>` / Cr `beneficiary:<b>:advance:<cur>` *L*. Opens the conversion, advance
/// and reserved accounts. Guard: the in-transit account never goes into debit, so a transfer is
/// confirmed once.
pub fn settlement(header: Header, settlement: &Settlement<'_>) -> Result<Entry, PostingError> {
    book(header, settlement, None)
}

/// **Disputed settlement** resolved with `top_up`: the [`settlement`] booked with the amount the
/// bank statement shows, its metadata naming the claim and the evidence (the top-up its shortfall
/// needs is a [`top_up`]). A claim itself posts nothing: see [`claim_guard`].
pub fn resolved_settlement(
    header: Header,
    settlement: &Settlement<'_>,
    resolution: &Resolution<'_>,
) -> Result<Entry, PostingError> {
    book(header, settlement, Some(resolution))
}

fn book(
    header: Header,
    settlement: &Settlement<'_>,
    resolution: Option<&Resolution<'_>>,
) -> Result<Entry, PostingError> {
    let (currency, local) = (settlement.sent.currency(), settlement.received.currency());
    let (sent, fee, received) = (settlement.sent, settlement.fee, settlement.received);
    let in_transit =
        chart::transfer_in_transit(settlement.transfer_id, settlement.beneficiary, currency);
    let bank = chart::fund_bank(currency);
    let reserved = chart::fee_coverage_reserved(currency);
    let conversion = chart::fx_conversion(local);
    let advance = chart::beneficiary_advance(settlement.beneficiary, local);
    let mut legs = vec![
        leg(&in_transit, sent),
        leg(&bank, sent.negated()),
        leg(&conversion, received),
        leg(&advance, received.negated()),
    ];
    if fee.is_positive() {
        // The bank's fee for sending is paid from the fee coverage reserved for it, never the pool.
        legs.push(leg(&reserved, fee));
        legs.push(leg(&bank, fee.negated()));
    }
    let metadata = SettlementMetadata {
        transfer_id: settlement.transfer_id.to_string(),
        bank_reference: settlement.bank_reference.to_owned(),
        value_date: settlement.value_date.to_string(),
        received: received.to_decimal_string(),
        received_currency: local.code().to_owned(),
        resolution: resolution.map(|resolution| ResolutionMetadata {
            dispute_id: resolution.dispute_id.to_string(),
            claimed_received: resolution.claimed_received.to_decimal_string(),
            claimed_by: resolution.claimed_by.to_owned(),
            dispute_resolved_by: resolution.resolved_by.to_owned(),
            bank_statement_reference: resolution.bank_statement_reference.to_owned(),
            dispute_resolution_reason: resolution.reason.to_owned(),
        }),
    };
    let transaction = entry(
        Header {
            effective_date: settlement.value_date.naive(),
            ..header
        },
        TransactionKind::Settlement,
        format!(
            "{} confirmed {received} for transfer {}",
            settlement.beneficiary_slug, settlement.end_to_end_id
        ),
        &metadata,
        legs,
        &[&in_transit, &bank, &reserved, &conversion, &advance],
    )?;
    Ok(Entry {
        transaction,
        opens: vec![conversion, advance, reserved],
        guards: vec![BalanceGuard {
            // A second confirmation would leave the transfer's in-transit account in debit.
            account_id: in_transit.id,
            bound: BalanceBound::AtMost(0),
        }],
    })
}

/// The guard under which a disputed claim is recorded (it posts nothing): the transfer is still
/// in transit, its in-transit account holding the whole amount sent.
pub fn claim_guard(in_transit: AccountId, sent: Amount) -> BalanceGuard {
    BalanceGuard {
        account_id: in_transit,
        bound: BalanceBound::AtMost(sent.negated().minor()),
    }
}

/// A top-up transfer leaving to make good a chain's shortfall.
#[derive(Debug, Clone)]
pub struct TopUp<'a> {
    /// The new top-up transfer.
    pub transfer_id: Uuid,
    pub beneficiary: OrganisationId,
    pub beneficiary_slug: &'a Slug,
    /// The period of the transfer it tops up.
    pub period: &'a str,
    /// The run of the transfer it tops up, if any.
    pub run_id: Option<Uuid>,
    pub end_to_end_id: &'a str,
    /// *T*: the smallest EUR amount whose conversion covers the shortfall.
    pub amount: Amount,
    /// *F'*: the expected fee for sending it.
    pub fee: Amount,
}

/// The metadata of a transfer leaving (a top-up's is a transfer's).
#[derive(Debug, Serialize)]
struct TransferMetadata {
    transfer_id: String,
    beneficiary_id: String,
    end_to_end_id: String,
    expected_fee: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<String>,
}

/// **Top-up** of *T* with fee *F'*: Dr `fee_coverage` *T + F'*; Cr `transfer:<top-up>:in_transit`
/// *T*; Cr `fee_coverage:reserved` *F'* (the fee legs only when there is a fee). Opens the
/// top-up's in-transit account. Guard: fee coverage never goes into debit.
pub fn top_up(header: Header, top_up: &TopUp<'_>) -> Result<Entry, PostingError> {
    let (amount, fee) = (top_up.amount, top_up.fee);
    let currency = amount.currency();
    let in_transit = chart::transfer_in_transit(top_up.transfer_id, top_up.beneficiary, currency);
    let coverage = chart::fee_coverage(currency);
    let reserved = chart::fee_coverage_reserved(currency);
    let mut legs = Vec::new();
    let mut accounts = vec![in_transit.clone()];
    if amount.is_positive() {
        legs.push(leg(&coverage, amount));
        accounts.push(coverage.clone());
    }
    legs.push(leg(&in_transit, amount.negated()));
    if fee.is_positive() {
        legs.push(leg(&coverage, fee));
        legs.push(leg(&reserved, fee.negated()));
        accounts.push(coverage.clone());
        accounts.push(reserved);
    }
    let metadata = TransferMetadata {
        transfer_id: top_up.transfer_id.to_string(),
        beneficiary_id: top_up.beneficiary.to_string(),
        end_to_end_id: top_up.end_to_end_id.to_owned(),
        expected_fee: fee.to_decimal_string(),
        run_id: top_up.run_id.map(|id| id.to_string()),
    };
    let references: Vec<&crate::Account> = accounts.iter().collect();
    let transaction = entry(
        header,
        TransactionKind::TopUp,
        format!(
            "Top-up {} to {}: {amount}",
            top_up.period, top_up.beneficiary_slug
        ),
        &metadata,
        legs,
        &references,
    )?;
    Ok(Entry {
        transaction,
        opens: accounts,
        guards: vec![BalanceGuard {
            // A top-up is paid by fee coverage: it must not go into debit.
            account_id: coverage.id,
            bound: BalanceBound::AtMost(0),
        }],
    })
}

/// Held funds going back to a programme's pool.
#[derive(Debug, Clone)]
pub struct HeldFundsReturn<'a> {
    pub programme_id: Uuid,
    pub beneficiary: OrganisationId,
    pub beneficiary_slug: &'a Slug,
    /// Everything held for the beneficiary.
    pub amount: Amount,
    pub reason: &'a Reason,
}

/// The metadata of a return of held funds.
#[derive(Debug, Serialize)]
struct HeldFundsReturnMetadata {
    beneficiary_id: String,
    reason: String,
}

/// **Return of held funds** (an adjustment, with its reason in the memo): Dr
/// `programme:held:<b>` / Cr `programme:pool`. Guard: the held account never goes into debit (a
/// run may have released the hold meanwhile: never return more than is held).
pub fn held_funds_return(
    header: Header,
    returned: &HeldFundsReturn<'_>,
) -> Result<Entry, PostingError> {
    let currency = returned.amount.currency();
    let held = chart::programme_held(returned.programme_id, returned.beneficiary, currency);
    let pool = chart::programme_pool(returned.programme_id, currency);
    let metadata = HeldFundsReturnMetadata {
        beneficiary_id: returned.beneficiary.to_string(),
        reason: returned.reason.as_str().to_owned(),
    };
    let transaction = entry(
        header,
        TransactionKind::Adjustment,
        crate::memo::held_funds_return(returned.beneficiary_slug, returned.reason),
        &metadata,
        vec![
            leg(&held, returned.amount),
            leg(&pool, returned.amount.negated()),
        ],
        &[&held, &pool],
    )?;
    Ok(Entry {
        transaction,
        opens: Vec::new(),
        guards: vec![BalanceGuard {
            account_id: held.id,
            bound: BalanceBound::AtMost(0),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_balanced, header};
    use super::*;
    use crate::Currency;

    fn slug() -> Slug {
        Slug::parse("mutuelle-dakar").unwrap()
    }

    fn eur(text: &str) -> Amount {
        Amount::parse(text, Currency::eur()).unwrap()
    }

    fn xof(text: &str) -> Amount {
        Amount::parse(text, Currency::from_code("XOF").unwrap()).unwrap()
    }

    fn keys(metadata: &str) -> Vec<String> {
        let value: serde_json::Value = serde_json::from_str(metadata).unwrap();
        value.as_object().unwrap().keys().cloned().collect()
    }

    fn settling<'a>(slug: &'a Slug, fee: Amount) -> Settlement<'a> {
        Settlement {
            transfer_id: Uuid::from_u128(20),
            beneficiary: OrganisationId::from_uuid(Uuid::from_u128(21)),
            beneficiary_slug: slug,
            end_to_end_id: "0000000000000000000000000000abcd",
            sent: eur("100.00"),
            fee,
            received: xof("65000"),
            value_date: FundDate::parse("2026-11-28").unwrap(),
            bank_reference: "STMT-1",
        }
    }

    #[test]
    fn a_settlement_clears_in_transit_pays_the_fee_from_reserve_and_credits_the_advance() {
        // Proves the Settlement row: each currency balances, the sending fee is paid from the
        // reserved fee coverage (legs only when there is a fee), the entry is dated at the value
        // date, and the in-transit guard (at most zero) is named.
        let slug = slug();
        let input = settling(&slug, eur("2.50"));
        let booked = settlement(header(), &input).unwrap();
        assert_balanced(&booked.transaction);
        assert_eq!(booked.transaction.kind(), TransactionKind::Settlement);
        assert_eq!(booked.transaction.postings().len(), 6);
        assert_eq!(
            booked.transaction.effective_date(),
            input.value_date.naive()
        );
        let reserved = chart::fee_coverage_reserved(Currency::eur());
        assert!(
            booked
                .transaction
                .postings()
                .iter()
                .any(|posting| posting.account_id == reserved.id && posting.amount == eur("2.50"))
        );
        let in_transit =
            chart::transfer_in_transit(input.transfer_id, input.beneficiary, Currency::eur());
        assert_eq!(
            booked.guards,
            vec![BalanceGuard {
                account_id: in_transit.id,
                bound: BalanceBound::AtMost(0),
            }]
        );
        assert_eq!(
            booked.transaction.memo(),
            "mutuelle-dakar confirmed 65000 XOF for transfer 0000000000000000000000000000abcd"
        );
        assert_eq!(
            keys(booked.transaction.metadata_json()),
            [
                "bank_reference",
                "received",
                "received_currency",
                "transfer_id",
                "value_date"
            ]
        );
        let free = settlement(header(), &settling(&slug, eur("0.00"))).unwrap();
        assert_balanced(&free.transaction);
        assert_eq!(free.transaction.postings().len(), 4);
    }

    #[test]
    fn a_resolved_claim_books_the_settlement_with_its_evidence() {
        // Proves the Disputed settlement row: the same settlement, its metadata naming the claim,
        // who resolved it and on what evidence; and a claim's guard keeps the whole amount in
        // transit.
        let slug = slug();
        let input = settling(&slug, eur("2.50"));
        let resolution = Resolution {
            dispute_id: Uuid::from_u128(30),
            claimed_received: xof("40000"),
            claimed_by: "treasurer",
            resolved_by: "admin (network)",
            bank_statement_reference: "camt.053-17",
            reason: "the statement shows 65000",
        };
        let booked = resolved_settlement(header(), &input, &resolution).unwrap();
        assert_balanced(&booked.transaction);
        let plain = settlement(header(), &input).unwrap();
        assert_eq!(booked.transaction.postings(), plain.transaction.postings());
        assert_eq!(booked.guards, plain.guards);
        assert_eq!(
            keys(booked.transaction.metadata_json()),
            [
                "bank_reference",
                "bank_statement_reference",
                "claimed_by",
                "claimed_received",
                "dispute_id",
                "dispute_resolution_reason",
                "dispute_resolved_by",
                "received",
                "received_currency",
                "transfer_id",
                "value_date"
            ]
        );
        assert!(
            booked
                .transaction
                .metadata_json()
                .contains(r#""claimed_received":"40000""#)
        );
        let in_transit = AccountId::from_uuid(Uuid::from_u128(40));
        assert_eq!(
            claim_guard(in_transit, eur("100.00")).bound,
            BalanceBound::AtMost(-10_000)
        );
    }

    #[test]
    fn a_top_up_is_paid_by_fee_coverage_with_its_fee_reserved() {
        // Proves the Top-up row: Dr fee coverage T + F', Cr the top-up's in-transit T, Cr the
        // reserve F', balanced, the in-transit account opened, and the fee-coverage guard named.
        let slug = slug();
        let input = TopUp {
            transfer_id: Uuid::from_u128(50),
            beneficiary: OrganisationId::from_uuid(Uuid::from_u128(21)),
            beneficiary_slug: &slug,
            period: "2026-11",
            run_id: Some(Uuid::from_u128(51)),
            end_to_end_id: "00000000000000000000000000000032",
            amount: eur("7.63"),
            fee: eur("1.00"),
        };
        let booked = top_up(header(), &input).unwrap();
        assert_balanced(&booked.transaction);
        assert_eq!(booked.transaction.kind(), TransactionKind::TopUp);
        let coverage = chart::fee_coverage(Currency::eur());
        let debited: i64 = booked
            .transaction
            .postings()
            .iter()
            .filter(|posting| posting.account_id == coverage.id)
            .map(|posting| posting.amount.minor())
            .sum();
        assert_eq!(debited, 863);
        let in_transit =
            chart::transfer_in_transit(input.transfer_id, input.beneficiary, Currency::eur());
        assert_eq!(booked.opens[0], in_transit);
        assert_eq!(
            booked.guards,
            vec![BalanceGuard {
                account_id: coverage.id,
                bound: BalanceBound::AtMost(0),
            }]
        );
        assert_eq!(
            booked.transaction.memo(),
            "Top-up 2026-11 to mutuelle-dakar: 7.63 EUR"
        );
        assert_eq!(
            keys(booked.transaction.metadata_json()),
            [
                "beneficiary_id",
                "end_to_end_id",
                "expected_fee",
                "run_id",
                "transfer_id"
            ]
        );
        let unpaid = top_up(
            header(),
            &TopUp {
                run_id: None,
                fee: eur("0.00"),
                ..input
            },
        )
        .unwrap();
        assert_balanced(&unpaid.transaction);
        assert_eq!(unpaid.transaction.postings().len(), 2);
        assert!(!unpaid.transaction.metadata_json().contains("run_id"));
    }

    #[test]
    fn a_held_funds_return_moves_the_hold_back_to_the_pool() {
        // Proves the Return of held funds row: Dr held / Cr pool, an adjustment quoting its
        // reason, and the guard that never returns more than is held.
        let slug = slug();
        let reason = Reason::parse("the mutual closed").unwrap();
        let input = HeldFundsReturn {
            programme_id: Uuid::from_u128(60),
            beneficiary: OrganisationId::from_uuid(Uuid::from_u128(21)),
            beneficiary_slug: &slug,
            amount: eur("310.00"),
            reason: &reason,
        };
        let booked = held_funds_return(header(), &input).unwrap();
        assert_balanced(&booked.transaction);
        assert_eq!(booked.transaction.kind(), TransactionKind::Adjustment);
        let held = chart::programme_held(input.programme_id, input.beneficiary, Currency::eur());
        assert_eq!(booked.transaction.postings()[0].account_id, held.id);
        assert_eq!(booked.transaction.postings()[0].amount, eur("310.00"));
        assert_eq!(
            booked.guards,
            vec![BalanceGuard {
                account_id: held.id,
                bound: BalanceBound::AtMost(0),
            }]
        );
        assert!(booked.opens.is_empty());
        assert_eq!(
            booked.transaction.memo(),
            "Held funds of mutuelle-dakar returned to the pool: the mutual closed"
        );
        assert_eq!(
            keys(booked.transaction.metadata_json()),
            ["beneficiary_id", "reason"]
        );
    }
}
