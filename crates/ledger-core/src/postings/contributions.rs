//! Contributions: a batch pledged, its bank receipts, its reversal.

use serde::Serialize;
use uuid::Uuid;

use super::{Entry, Header, PostingError, entry, leg};
use crate::{Amount, OrganisationId, Period, TransactionKind, chart};

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

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_balanced, header};
    use super::*;
    use crate::{Currency, PeriodKind};

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
}
