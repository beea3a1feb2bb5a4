//! Redistribution reports: an accepted report liquidates the beneficiary's advance per purpose; a
//! reversal puts the amounts back into the advance.

use serde::Serialize;
use uuid::Uuid;

use super::{BalanceBound, BalanceGuard, Entry, Header, PostingError, entry, leg};
use crate::memo::Reason;
use crate::{Account, Amount, OrganisationId, Period, TransactionKind, chart};

/// A redistribution report as the books see it: who reported, the total, and the total of each
/// purpose (in the order purposes first appear in the report; they sum to the total).
#[derive(Debug, Clone)]
pub struct ReportAmounts<'a> {
    pub report_id: Uuid,
    pub beneficiary: OrganisationId,
    /// The report's total, in the beneficiary's currency.
    pub total: Amount,
    /// Each purpose (`premium_subsidy`, `administration`, ...) with its total.
    pub purposes: &'a [(String, Amount)],
}

/// The metadata of a report's acceptance.
#[derive(Debug, Serialize)]
struct AcceptanceMetadata {
    report_id: String,
    beneficiary_id: String,
    period: String,
}

/// The metadata of a report's reversal.
#[derive(Debug, Serialize)]
struct ReversalMetadata {
    report_id: String,
    beneficiary_id: String,
    reason: String,
}

/// The advance and the per-purpose accounts of a report.
fn accounts(report: &ReportAmounts<'_>) -> (Account, Vec<(Account, Amount)>) {
    let currency = report.total.currency();
    let advance = chart::beneficiary_advance(report.beneficiary, currency);
    let purposes = report
        .purposes
        .iter()
        .map(|(purpose, amount)| {
            (
                chart::beneficiary_redistributed(report.beneficiary, purpose, currency),
                *amount,
            )
        })
        .collect();
    (advance, purposes)
}

/// **Report acceptance** (the network accepts a redistribution report of total *T*, period
/// `period` as the report states it): Dr `beneficiary:<b>:advance:<cur>` *T* / Cr
/// `beneficiary:<b>:redistributed:<purpose>:<cur>` each purpose's total. Opens the per-purpose
/// accounts. A guard keeps the advance (a credit) from going into debit: never liquidate more than
/// the beneficiary received.
pub fn report_acceptance(
    header: Header,
    report: &ReportAmounts<'_>,
    period: &str,
) -> Result<Entry, PostingError> {
    let (advance, purposes) = accounts(report);
    let mut legs = vec![leg(&advance, report.total)];
    legs.extend(
        purposes
            .iter()
            .map(|(account, amount)| leg(account, amount.negated())),
    );
    let mut chart: Vec<&Account> = vec![&advance];
    chart.extend(purposes.iter().map(|(account, _)| account));
    let metadata = AcceptanceMetadata {
        report_id: report.report_id.to_string(),
        beneficiary_id: report.beneficiary.to_string(),
        period: period.to_owned(),
    };
    let transaction = entry(
        header,
        TransactionKind::Redistribution,
        format!("Redistribution report {period} accepted"),
        &metadata,
        legs,
        &chart,
    )?;
    Ok(Entry {
        transaction,
        guards: vec![BalanceGuard {
            account_id: advance.id,
            bound: BalanceBound::AtMost(0),
        }],
        opens: purposes.into_iter().map(|(account, _)| account).collect(),
    })
}

/// **Report reversal** (the network reverses an accepted report, with a reason): Cr
/// `beneficiary:<b>:advance:<cur>` *T* / Dr `beneficiary:<b>:redistributed:<purpose>:<cur>` each
/// purpose's total: the acceptance's legs the other way. Guards keep each purpose's account (a
/// credit) from going into debit, so a report is reversed once.
pub fn report_reversal(
    header: Header,
    report: &ReportAmounts<'_>,
    period: &Period,
    reason: &Reason,
) -> Result<Entry, PostingError> {
    let (advance, purposes) = accounts(report);
    let mut legs = vec![leg(&advance, report.total.negated())];
    legs.extend(
        purposes
            .iter()
            .map(|(account, amount)| leg(account, *amount)),
    );
    let mut chart: Vec<&Account> = vec![&advance];
    chart.extend(purposes.iter().map(|(account, _)| account));
    let metadata = ReversalMetadata {
        report_id: report.report_id.to_string(),
        beneficiary_id: report.beneficiary.to_string(),
        reason: reason.as_str().to_owned(),
    };
    let transaction = entry(
        header,
        TransactionKind::Reversal,
        crate::memo::report_reversal(period, reason),
        &metadata,
        legs,
        &chart,
    )?;
    Ok(Entry {
        transaction,
        guards: purposes
            .iter()
            .map(|(account, _)| BalanceGuard {
                account_id: account.id,
                bound: BalanceBound::AtMost(0),
            })
            .collect(),
        opens: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_balanced, header};
    use super::*;
    use crate::{Currency, PeriodKind};

    fn xof(text: &str) -> Amount {
        let currency = Currency::from_code("XOF").unwrap();
        Amount::parse(text, currency).unwrap()
    }

    fn purposes() -> Vec<(String, Amount)> {
        vec![
            ("premium_subsidy".to_owned(), xof("600000")),
            ("administration".to_owned(), xof("50000")),
        ]
    }

    fn report(purposes: &[(String, Amount)]) -> ReportAmounts<'_> {
        ReportAmounts {
            report_id: Uuid::from_u128(20),
            beneficiary: OrganisationId::from_uuid(Uuid::from_u128(21)),
            total: xof("650000"),
            purposes,
        }
    }

    fn metadata_keys(json: &str) -> Vec<String> {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        value.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn an_acceptance_debits_the_advance_and_credits_each_purpose() {
        // Proves the report-acceptance row of docs/accounts.md: the advance debited the total,
        // each purpose credited its own total, balanced; the purpose accounts opened; the guard
        // keeps the advance from going into debit; the metadata names report, beneficiary, period.
        let purposes = purposes();
        let input = report(&purposes);
        let booked = report_acceptance(header(), &input, "2026-11").unwrap();
        assert_balanced(&booked.transaction);
        let transaction = &booked.transaction;
        assert_eq!(transaction.kind(), TransactionKind::Redistribution);
        assert_eq!(transaction.memo(), "Redistribution report 2026-11 accepted");
        let advance = chart::beneficiary_advance(input.beneficiary, input.total.currency());
        let subsidy = chart::beneficiary_redistributed(
            input.beneficiary,
            "premium_subsidy",
            input.total.currency(),
        );
        let postings = transaction.postings();
        assert_eq!(postings.len(), 3);
        assert_eq!(postings[0].account_id, advance.id);
        assert_eq!(postings[0].amount, xof("650000"));
        assert_eq!(postings[1].account_id, subsidy.id);
        assert_eq!(postings[1].amount, xof("600000").negated());
        assert_eq!(booked.opens.len(), 2);
        assert_eq!(booked.opens[0], subsidy);
        assert_eq!(
            booked.guards,
            vec![BalanceGuard {
                account_id: advance.id,
                bound: BalanceBound::AtMost(0),
            }]
        );
        assert_eq!(
            metadata_keys(transaction.metadata_json()),
            ["beneficiary_id", "period", "report_id"]
        );
    }

    #[test]
    fn a_reversal_books_the_acceptance_the_other_way_and_guards_each_purpose() {
        // Proves the report-reversal row of docs/accounts.md: the advance credited the total, each
        // purpose debited back, balanced; nothing opened; one guard per purpose account (at most
        // zero) so a report is not reversed twice; the memo and metadata carry the reason.
        let purposes = purposes();
        let input = report(&purposes);
        let period = Period::parse("2026-11", PeriodKind::Month).unwrap();
        let reason = Reason::parse("counted twice").unwrap();
        let booked = report_reversal(header(), &input, &period, &reason).unwrap();
        assert_balanced(&booked.transaction);
        let transaction = &booked.transaction;
        assert_eq!(transaction.kind(), TransactionKind::Reversal);
        assert_eq!(
            transaction.memo(),
            crate::memo::report_reversal(&period, &reason)
        );
        let currency = input.total.currency();
        let advance = chart::beneficiary_advance(input.beneficiary, currency);
        assert_eq!(transaction.postings()[0].account_id, advance.id);
        assert_eq!(transaction.postings()[0].amount, xof("650000").negated());
        assert_eq!(transaction.postings()[2].amount, xof("50000"));
        assert!(booked.opens.is_empty());
        let guarded: Vec<_> = booked.guards.iter().map(|guard| guard.account_id).collect();
        assert_eq!(
            guarded,
            vec![
                chart::beneficiary_redistributed(input.beneficiary, "premium_subsidy", currency).id,
                chart::beneficiary_redistributed(input.beneficiary, "administration", currency).id,
            ]
        );
        assert!(
            booked
                .guards
                .iter()
                .all(|guard| guard.bound == BalanceBound::AtMost(0))
        );
        assert_eq!(
            metadata_keys(transaction.metadata_json()),
            ["beneficiary_id", "reason", "report_id"]
        );
        assert!(transaction.metadata_json().contains("counted twice"));
    }

    #[test]
    fn purposes_that_do_not_sum_to_the_total_are_refused() {
        // Proves a report whose purposes do not add up cannot be booked (an unbalanced
        // transaction), whichever way.
        let purposes = vec![("training".to_owned(), xof("1000"))];
        let input = report(&purposes);
        assert!(report_acceptance(header(), &input, "2026-11").is_err());
        let period = Period::parse("2026-11", PeriodKind::Month).unwrap();
        let reason = Reason::parse("wrong").unwrap();
        assert!(report_reversal(header(), &input, &period, &reason).is_err());
    }
}
