//! The whole fund at a glance, folded from the lot book ([`crate::lots::LotBook`]): what was
//! received, what waits in the fund, what is held for a mutual that does not yet meet its
//! conditions, what was sent, what the mutuals redistributed and for which purpose, by year and
//! programme, per mutual and per contributor → mutual flow. Every received cent is in exactly one
//! state, so the states of each total add up to what was received (checked on every summary).

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

use crate::journal::OrganisationId;
use crate::lots::{Holding, LotBook, Place};
use crate::redistribution::Purpose;

/// Why a summary could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FundError {
    #[error("a fund total overflows")]
    Overflow,
    #[error("the fund's states add up to {states} minor units, not the {received} received")]
    DoesNotReconcile { states: i64, received: i64 },
}

fn add(total: &mut i64, eur_minor: i64) -> Result<(), FundError> {
    *total = total.checked_add(eur_minor).ok_or(FundError::Overflow)?;
    Ok(())
}

/// EUR minor units in each state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateTotals {
    /// Everything received: the sum of the states below.
    pub received: i64,
    /// In a programme's pool or earmarked for a mutual, not yet allocated.
    pub awaiting: i64,
    /// Allocated to a mutual that does not meet its conditions yet.
    pub held: i64,
    /// Sent, not yet confirmed by the mutual.
    pub in_transit: i64,
    /// Confirmed received by a mutual, not yet accounted for by a report.
    pub with_mutuals: i64,
    /// Accounted for by an accepted redistribution report.
    pub redistributed: i64,
    /// Given back to the contributor (a reversed batch).
    pub refunded: i64,
}

impl StateTotals {
    fn count(&mut self, place: Place, eur_minor: i64) -> Result<(), FundError> {
        add(&mut self.received, eur_minor)?;
        let state = match place {
            Place::Pool { .. } | Place::Earmarked { .. } => &mut self.awaiting,
            Place::Held { .. } => &mut self.held,
            Place::InTransit { .. } => &mut self.in_transit,
            Place::Received { .. } => &mut self.with_mutuals,
            Place::Redistributed { .. } => &mut self.redistributed,
            Place::Refunded => &mut self.refunded,
        };
        add(state, eur_minor)
    }

    /// What left the fund for the mutuals: in transit, with them, or redistributed.
    pub fn transferred(&self) -> i64 {
        self.in_transit
            .saturating_add(self.with_mutuals)
            .saturating_add(self.redistributed)
    }

    /// What the fund still holds: awaiting allocation or held for a mutual.
    pub fn kept(&self) -> i64 {
        self.awaiting.saturating_add(self.held)
    }

    fn check(&self) -> Result<(), FundError> {
        let states = [
            self.awaiting,
            self.held,
            self.in_transit,
            self.with_mutuals,
            self.redistributed,
            self.refunded,
        ]
        .iter()
        .try_fold(0_i64, |sum, part| sum.checked_add(*part))
        .ok_or(FundError::Overflow)?;
        if states != self.received {
            return Err(FundError::DoesNotReconcile {
                states,
                received: self.received,
            });
        }
        Ok(())
    }
}

/// One mutual's money: what was sent to it and what it did with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MutualFunds {
    pub held: i64,
    pub in_transit: i64,
    /// Confirmed received, not yet reported (EUR and its own currency, exact).
    pub with_mutual: Holding,
    /// Redistributed, per purpose (EUR and its own currency, exact).
    pub redistributed: BTreeMap<Purpose, Holding>,
}

impl MutualFunds {
    /// Everything it received (confirmed), reported or not, in EUR minor units.
    pub fn received_eur(&self) -> i64 {
        self.redistributed
            .values()
            .fold(self.with_mutual.eur_minor, |sum, holding| {
                sum.saturating_add(holding.eur_minor)
            })
    }

    /// Everything it received, in its own currency (exact minor units).
    pub fn received_local(&self) -> Decimal {
        self.redistributed
            .values()
            .fold(self.with_mutual.local_minor, |sum, holding| {
                sum + holding.local_minor
            })
    }
}

/// The whole fund.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FundSummary {
    pub totals: StateTotals,
    /// By year of the batches' period (`2026`) and programme.
    pub by_year_programme: BTreeMap<(String, Uuid), StateTotals>,
    /// Redistributed by purpose, EUR minor units.
    pub purposes: BTreeMap<Purpose, i64>,
    pub mutuals: BTreeMap<OrganisationId, MutualFunds>,
    /// Per contributor.
    pub contributors: BTreeMap<OrganisationId, StateTotals>,
    /// What went from each contributor to each mutual (sent: in transit, received or
    /// redistributed), EUR minor units.
    pub flows: BTreeMap<(OrganisationId, OrganisationId), i64>,
}

/// Folds the lot book into the fund's summary.
pub fn summarise(book: &LotBook) -> Result<FundSummary, FundError> {
    let mut summary = FundSummary::default();
    for (place, lot, holding) in book.pieces() {
        let eur_minor = holding.eur_minor;
        summary.totals.count(place, eur_minor)?;
        let year: String = lot.period.chars().take(4).collect();
        summary
            .by_year_programme
            .entry((year, lot.programme))
            .or_default()
            .count(place, eur_minor)?;
        summary
            .contributors
            .entry(lot.contributor)
            .or_default()
            .count(place, eur_minor)?;
        let Some(mutual) = place.beneficiary() else {
            continue;
        };
        let funds = summary.mutuals.entry(mutual).or_default();
        match place {
            Place::Held { .. } => add(&mut funds.held, eur_minor)?,
            Place::InTransit { .. } => add(&mut funds.in_transit, eur_minor)?,
            Place::Received { .. } => {
                add(&mut funds.with_mutual.eur_minor, eur_minor)?;
                funds.with_mutual.local_minor += holding.local_minor;
            }
            Place::Redistributed { purpose, .. } => {
                let entry = funds.redistributed.entry(purpose).or_default();
                add(&mut entry.eur_minor, eur_minor)?;
                entry.local_minor += holding.local_minor;
                add(summary.purposes.entry(purpose).or_default(), eur_minor)?;
            }
            Place::Pool { .. } | Place::Earmarked { .. } | Place::Refunded => {}
        }
        if matches!(
            place,
            Place::InTransit { .. } | Place::Received { .. } | Place::Redistributed { .. }
        ) {
            add(
                summary.flows.entry((lot.contributor, mutual)).or_default(),
                eur_minor,
            )?;
        }
    }
    summary.totals.check()?;
    for totals in summary.by_year_programme.values() {
        totals.check()?;
    }
    Ok(summary)
}

/// How many cents of each euro received `part` is (`part / whole × 100`, to the hundredth of a
/// cent, half away from zero); zero when nothing was received.
pub fn cents_per_euro(part_minor: i64, whole_minor: i64) -> Decimal {
    if whole_minor == 0 {
        return Decimal::ZERO;
    }
    (Decimal::from(part_minor) * Decimal::ONE_HUNDRED / Decimal::from(whole_minor))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lots::Lot;

    const PROGRAMME: Uuid = Uuid::from_u128(0xabc);

    fn organisation(id: u128) -> OrganisationId {
        OrganisationId::from_uuid(Uuid::from_u128(id))
    }

    fn lot(id: u128, contributor: u128, amount: i64, period: &str) -> Lot {
        Lot {
            id: Uuid::from_u128(id),
            contributor: organisation(contributor),
            programme: PROGRAMME,
            batch: Uuid::from_u128(id),
            period: period.to_owned(),
            amount_minor: amount,
            earmark: None,
        }
    }

    #[test]
    fn every_received_cent_is_counted_once_by_state_year_mutual_and_flow() {
        // Proves the summary's states add up to what was received, per year and in total, and
        // that flows and purposes follow the lots first in, first out.
        let mutual = organisation(9);
        let pool = Place::Pool {
            programme: PROGRAMME,
        };
        let transit = Place::InTransit {
            beneficiary: mutual,
            transfer: Uuid::from_u128(77),
        };
        let received = Place::Received {
            beneficiary: mutual,
        };
        let mut book = LotBook::new();
        book.receive(lot(1, 1, 10_000, "2025-12"));
        book.receive(lot(2, 2, 5_000, "2026-01"));
        book.move_eur(pool, transit, 12_000, Some(Decimal::from(6)))
            .unwrap();
        book.move_eur(transit, received, 12_000, None).unwrap();
        book.move_local(
            received,
            Place::Redistributed {
                beneficiary: mutual,
                purpose: Purpose::CareReimbursement,
            },
            Decimal::from(60_000),
        )
        .unwrap();
        let summary = summarise(&book).unwrap();
        assert_eq!(summary.totals.received, 15_000);
        assert_eq!(summary.totals.awaiting, 3_000);
        assert_eq!(summary.totals.redistributed, 10_000);
        assert_eq!(summary.totals.with_mutuals, 2_000);
        assert_eq!(summary.totals.transferred(), 12_000);
        assert_eq!(summary.purposes[&Purpose::CareReimbursement], 10_000);
        assert_eq!(summary.flows[&(organisation(1), mutual)], 10_000);
        assert_eq!(summary.flows[&(organisation(2), mutual)], 2_000);
        assert_eq!(
            summary.by_year_programme[&("2025".to_owned(), PROGRAMME)].redistributed,
            10_000
        );
        assert_eq!(
            summary.by_year_programme[&("2026".to_owned(), PROGRAMME)].awaiting,
            3_000
        );
        let funds = &summary.mutuals[&mutual];
        assert_eq!(funds.received_eur(), 12_000);
        assert_eq!(funds.received_local(), Decimal::from(72_000));
        assert_eq!(cents_per_euro(10_000, 15_000), Decimal::new(6667, 2));
        assert_eq!(cents_per_euro(1, 0), Decimal::ZERO);
    }
}
