//! First-in, first-out lots: how a contributor's euros are followed from a bank receipt to the care
//! they paid for. Each receipt is a lot (contributor, batch, EUR amount, earmark). Money leaving a
//! place (the pool, an earmarked fund, a hold, a transfer in transit, a beneficiary's received
//! funds) is taken from the oldest lots there first; earmarked lots only ever go to their
//! beneficiary. Every piece of every lot is always in exactly one place, so the totals of all
//! contributors add up to the books, to the cent.
//!
//! This is the reference model (pure, replayable): the store keeps the same state at write time.

use std::collections::{BTreeMap, HashMap, VecDeque};

use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::journal::OrganisationId;
use crate::redistribution::Purpose;

/// Where a piece of a lot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Place {
    /// Received, unrestricted, not yet allocated.
    Pool { programme: Uuid },
    /// Received, restricted to one beneficiary, not yet allocated.
    Earmarked {
        programme: Uuid,
        beneficiary: OrganisationId,
    },
    /// Allocated to a beneficiary that does not meet the conditions yet.
    Held {
        programme: Uuid,
        beneficiary: OrganisationId,
    },
    /// Sent, not yet confirmed.
    InTransit {
        beneficiary: OrganisationId,
        transfer: Uuid,
    },
    /// Confirmed received, not yet accounted for by a report.
    Received { beneficiary: OrganisationId },
    /// Accounted for by an accepted report.
    Redistributed {
        beneficiary: OrganisationId,
        purpose: Purpose,
    },
    /// Given back to the contributor (a reversed batch).
    Refunded,
}

impl Place {
    /// The beneficiary the money is with or for, if any.
    pub fn beneficiary(&self) -> Option<OrganisationId> {
        match *self {
            Place::Pool { .. } | Place::Refunded => None,
            Place::Earmarked { beneficiary, .. }
            | Place::Held { beneficiary, .. }
            | Place::InTransit { beneficiary, .. }
            | Place::Received { beneficiary }
            | Place::Redistributed { beneficiary, .. } => Some(beneficiary),
        }
    }
}

/// A receipt: the unit of tracing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub id: Uuid,
    pub contributor: OrganisationId,
    pub programme: Uuid,
    pub batch: Uuid,
    /// The batch's period (`2026-11`).
    pub period: String,
    /// Minor units of EUR.
    pub amount_minor: i64,
    pub earmark: Option<OrganisationId>,
}

/// A part of a lot in one place, with its value in the beneficiary's currency once it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    lot: usize,
    eur_minor: i64,
    /// Local minor units (exact), from the transfer's rate; zero until the piece is sent.
    local_minor: Decimal,
}

/// EUR and local minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Holding {
    pub eur_minor: i64,
    pub local_minor: Decimal,
}

/// Why a movement could not be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LotError {
    #[error("{place:?} holds {available} minor units, {wanted} were to leave it")]
    NotEnough {
        place: Place,
        available: i64,
        wanted: i64,
    },
    #[error("unknown lot {0}")]
    UnknownLot(Uuid),
    #[error("amounts must not be negative")]
    Negative,
}

/// Every lot and where its pieces are. Each place is a queue in the order money arrived there:
/// what leaves a place is taken from its front.
#[derive(Debug, Clone, Default)]
pub struct LotBook {
    lots: Vec<Lot>,
    index: HashMap<Uuid, usize>,
    places: HashMap<Place, VecDeque<Piece>>,
}

impl LotBook {
    pub fn new() -> LotBook {
        LotBook::default()
    }

    /// A receipt enters its programme's pool, or its beneficiary's earmarked fund.
    pub fn receive(&mut self, lot: Lot) {
        let place = match lot.earmark {
            Some(beneficiary) => Place::Earmarked {
                programme: lot.programme,
                beneficiary,
            },
            None => Place::Pool {
                programme: lot.programme,
            },
        };
        let piece = Piece {
            lot: self.lots.len(),
            eur_minor: lot.amount_minor,
            local_minor: Decimal::ZERO,
        };
        self.index.insert(lot.id, self.lots.len());
        self.lots.push(lot);
        self.arrive(place, piece);
    }

    fn arrive(&mut self, place: Place, piece: Piece) {
        let queue = self.places.entry(place).or_default();
        match queue.back_mut() {
            Some(last) if last.lot == piece.lot => {
                last.eur_minor += piece.eur_minor;
                last.local_minor += piece.local_minor;
            }
            _ => queue.push_back(piece),
        }
    }

    /// Moves `eur_minor` from `from` to `to`, first in first out. `rate` (local minor units per EUR
    /// minor unit) values the pieces sent; without it pieces keep their local value.
    pub fn move_eur(
        &mut self,
        from: Place,
        to: Place,
        eur_minor: i64,
        rate: Option<Decimal>,
    ) -> Result<(), LotError> {
        if eur_minor < 0 {
            return Err(LotError::Negative);
        }
        let available = self.total(from).eur_minor;
        if available < eur_minor {
            return Err(LotError::NotEnough {
                place: from,
                available,
                wanted: eur_minor,
            });
        }
        let mut left = eur_minor;
        let mut moved = Vec::new();
        if let Some(queue) = self.places.get_mut(&from) {
            while left > 0 {
                let Some(front) = queue.front_mut() else {
                    break;
                };
                let take = front.eur_minor.min(left);
                let local_taken = if take == front.eur_minor {
                    front.local_minor
                } else {
                    front.local_minor * Decimal::from(take) / Decimal::from(front.eur_minor)
                };
                front.eur_minor -= take;
                front.local_minor -= local_taken;
                left -= take;
                moved.push(Piece {
                    lot: front.lot,
                    eur_minor: take,
                    local_minor: rate.map_or(local_taken, |rate| Decimal::from(take) * rate),
                });
                if front.eur_minor == 0 {
                    queue.pop_front();
                }
            }
        }
        for piece in moved {
            self.arrive(to, piece);
        }
        Ok(())
    }

    /// Moves pieces out of `from` by local value (a report is in the beneficiary's currency), first
    /// in first out; the euros follow in proportion, whole pieces keeping every cent. Moves at most
    /// what `from` holds and returns what it moved.
    pub fn move_local(
        &mut self,
        from: Place,
        to: Place,
        local: Decimal,
    ) -> Result<Decimal, LotError> {
        if local < Decimal::ZERO {
            return Err(LotError::Negative);
        }
        let mut left = local;
        let mut moved = Vec::new();
        if let Some(queue) = self.places.get_mut(&from) {
            while left > Decimal::ZERO {
                let Some(front) = queue.front_mut() else {
                    break;
                };
                if front.local_minor <= left {
                    left -= front.local_minor;
                    moved.push(*front);
                    queue.pop_front();
                } else {
                    let eur = i64::try_from(
                        (Decimal::from(front.eur_minor) * left / front.local_minor).floor(),
                    )
                    .unwrap_or(0);
                    front.eur_minor -= eur;
                    front.local_minor -= left;
                    moved.push(Piece {
                        lot: front.lot,
                        eur_minor: eur,
                        local_minor: left,
                    });
                    left = Decimal::ZERO;
                }
            }
        }
        for piece in moved {
            self.arrive(to, piece);
        }
        Ok(local - left)
    }

    /// Refunds up to `eur_minor` of one lot out of `from` (a reversed batch takes back its own money).
    pub fn refund_lot(&mut self, lot: Uuid, from: Place, eur_minor: i64) -> Result<i64, LotError> {
        let index = *self.index.get(&lot).ok_or(LotError::UnknownLot(lot))?;
        let mut left = eur_minor;
        let mut refunded = Vec::new();
        if let Some(queue) = self.places.get_mut(&from) {
            for piece in queue.iter_mut().filter(|piece| piece.lot == index) {
                let take = piece.eur_minor.min(left);
                piece.eur_minor -= take;
                left -= take;
                refunded.push(Piece {
                    lot: index,
                    eur_minor: take,
                    local_minor: Decimal::ZERO,
                });
            }
            queue.retain(|piece| piece.eur_minor > 0);
        }
        for piece in refunded {
            self.arrive(Place::Refunded, piece);
        }
        Ok(eur_minor - left)
    }

    /// What one place holds.
    pub fn total(&self, place: Place) -> Holding {
        self.places
            .get(&place)
            .map(|queue| {
                queue
                    .iter()
                    .fold(Holding::default(), |total, piece| Holding {
                        eur_minor: total.eur_minor + piece.eur_minor,
                        local_minor: total.local_minor + piece.local_minor,
                    })
            })
            .unwrap_or_default()
    }

    /// Where one contributor's money is, by place: all of it, or its batches of one period.
    pub fn of_contributor(
        &self,
        contributor: OrganisationId,
        period: Option<&str>,
    ) -> BTreeMap<Place, Holding> {
        let mut places: BTreeMap<Place, Holding> = BTreeMap::new();
        let counts = |lot: &Lot| {
            lot.contributor == contributor && period.is_none_or(|period| lot.period == period)
        };
        for (place, queue) in &self.places {
            // Summed per place first: one map insertion per place, not per piece.
            let mut holding = Holding::default();
            let mut any = false;
            for piece in queue.iter().filter(|piece| counts(&self.lots[piece.lot])) {
                holding.eur_minor += piece.eur_minor;
                holding.local_minor += piece.local_minor;
                any = true;
            }
            if any {
                places.insert(*place, holding);
            }
        }
        places
    }

    /// Who funded a beneficiary: by contributor, period and place, every piece with or for it.
    pub fn of_beneficiary(
        &self,
        beneficiary: OrganisationId,
    ) -> BTreeMap<(OrganisationId, String, Place), Holding> {
        let mut funding: BTreeMap<(OrganisationId, String, Place), Holding> = BTreeMap::new();
        for (place, queue) in self
            .places
            .iter()
            .filter(|(place, _)| place.beneficiary() == Some(beneficiary))
        {
            for piece in queue {
                let lot = &self.lots[piece.lot];
                let entry = funding
                    .entry((lot.contributor, lot.period.clone(), *place))
                    .or_default();
                entry.eur_minor += piece.eur_minor;
                entry.local_minor += piece.local_minor;
            }
        }
        funding
    }

    /// Every piece of every lot, with its place: what whole-fund summaries
    /// ([`crate::fund::FundSummary`]) are folded from.
    pub fn pieces(&self) -> impl Iterator<Item = (Place, &Lot, Holding)> {
        self.places.iter().flat_map(move |(place, queue)| {
            queue.iter().map(move |piece| {
                (
                    *place,
                    &self.lots[piece.lot],
                    Holding {
                        eur_minor: piece.eur_minor,
                        local_minor: piece.local_minor,
                    },
                )
            })
        })
    }

    /// The lots of one contributor.
    pub fn lots_of(&self, contributor: OrganisationId) -> impl Iterator<Item = &Lot> {
        self.lots
            .iter()
            .filter(move |lot| lot.contributor == contributor)
    }

    /// Every contributor with at least one lot.
    pub fn contributors(&self) -> Vec<OrganisationId> {
        let mut contributors: Vec<OrganisationId> =
            self.lots.iter().map(|lot| lot.contributor).collect();
        contributors.sort();
        contributors.dedup();
        contributors
    }

    /// Checks that every lot's pieces add up to the lot, none is negative, and an earmarked lot
    /// never reached another beneficiary.
    pub fn check(&self) -> Result<(), String> {
        let mut sums = vec![0_i64; self.lots.len()];
        for (place, queue) in &self.places {
            for piece in queue {
                if piece.eur_minor < 0 {
                    return Err(format!(
                        "a piece of lot {} is negative",
                        self.lots[piece.lot].id
                    ));
                }
                sums[piece.lot] += piece.eur_minor;
                let lot = &self.lots[piece.lot];
                if let (Some(earmark), Some(beneficiary)) = (lot.earmark, place.beneficiary())
                    && earmark != beneficiary
                {
                    return Err(format!(
                        "earmarked lot {} reached another beneficiary",
                        lot.id
                    ));
                }
            }
        }
        for (lot, sum) in self.lots.iter().zip(sums) {
            if sum != lot.amount_minor {
                return Err(format!("lot {} has {sum} of {}", lot.id, lot.amount_minor));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PROGRAMME: Uuid = Uuid::from_u128(0xabc);

    fn organisation(id: u128) -> OrganisationId {
        OrganisationId::from_uuid(Uuid::from_u128(id))
    }

    fn lot(id: u128, contributor: u128, amount: i64, earmark: Option<u128>) -> Lot {
        Lot {
            id: Uuid::from_u128(id),
            contributor: organisation(contributor),
            programme: PROGRAMME,
            batch: Uuid::from_u128(id),
            period: "2026-11".to_owned(),
            amount_minor: amount,
            earmark: earmark.map(organisation),
        }
    }

    fn pool() -> Place {
        Place::Pool {
            programme: PROGRAMME,
        }
    }

    #[test]
    fn the_oldest_lots_leave_the_pool_first() {
        // Proves FIFO: the first union's euros are sent before the second's, and a report
        // consumes received money in the same order.
        let mut book = LotBook::new();
        book.receive(lot(1, 10, 600, None));
        book.receive(lot(2, 20, 400, None));
        let mutual = organisation(99);
        let in_transit = Place::InTransit {
            beneficiary: mutual,
            transfer: Uuid::from_u128(7),
        };
        let rate = Some(Decimal::new(655_957, 5)); // XOF minor units per EUR cent
        book.move_eur(pool(), in_transit, 700, rate).unwrap();
        assert_eq!(
            book.of_contributor(organisation(10), None)[&in_transit].eur_minor,
            600
        );
        assert_eq!(
            book.of_contributor(organisation(20), None)[&in_transit].eur_minor,
            100
        );
        assert_eq!(
            book.of_contributor(organisation(20), None)[&pool()].eur_minor,
            300
        );
        let received = Place::Received {
            beneficiary: mutual,
        };
        book.move_eur(in_transit, received, 700, None).unwrap();
        assert_eq!(
            book.of_contributor(organisation(10), None)[&received].local_minor,
            Decimal::new(3_935_742, 3)
        );
        let subsidies = Place::Redistributed {
            beneficiary: mutual,
            purpose: Purpose::PremiumSubsidy,
        };
        // 600 cents are 3,935.742 XOF: a report of 3,000 XOF comes from the first union only.
        let moved = book
            .move_local(received, subsidies, Decimal::from(3000))
            .unwrap();
        assert_eq!(moved, Decimal::from(3000));
        assert!(
            !book
                .of_contributor(organisation(20), None)
                .contains_key(&subsidies)
        );
        assert_eq!(
            book.of_contributor(organisation(10), None)[&subsidies].local_minor,
            Decimal::from(3000)
        );
        let funding = book.of_beneficiary(mutual);
        assert!(funding.keys().any(
            |(contributor, period, _)| *contributor == organisation(20) && period == "2026-11"
        ));
        book.check().unwrap();
    }

    #[test]
    fn earmarked_lots_only_go_to_their_beneficiary_and_refunds_take_their_own_lot() {
        // Proves an earmarked lot waits in its own fund, the pool's movements never take it, and a
        // reversed batch's refund takes that batch's money, not the oldest.
        let mut book = LotBook::new();
        book.receive(lot(1, 10, 500, Some(50)));
        book.receive(lot(2, 10, 300, None));
        book.receive(lot(3, 20, 200, None));
        let other = Place::Held {
            programme: PROGRAMME,
            beneficiary: organisation(60),
        };
        assert!(book.move_eur(pool(), other, 600, None).is_err());
        assert_eq!(
            book.refund_lot(Uuid::from_u128(3), pool(), 200).unwrap(),
            200
        );
        assert_eq!(
            book.of_contributor(organisation(20), None)[&Place::Refunded].eur_minor,
            200
        );
        book.move_eur(pool(), other, 300, None).unwrap();
        assert_eq!(
            book.total(Place::Earmarked {
                programme: PROGRAMME,
                beneficiary: organisation(50)
            })
            .eur_minor,
            500
        );
        book.check().unwrap();
    }

    proptest! {
        #[test]
        fn every_cent_is_in_exactly_one_place(
            receipts in proptest::collection::vec((1u128..4, 1i64..100_000, proptest::option::of(1u128..3)), 1..40),
            moves in proptest::collection::vec((0usize..8, 1u128..3, 1i64..200_000), 0..60),
        ) {
            // Proves, for random receipts, allocations, transfers, settlements and reports: the
            // contributors' totals add up to the receipts, each lot is whole, earmarks are respected.
            let mut book = LotBook::new();
            for (index, (contributor, amount, earmark)) in receipts.iter().enumerate() {
                book.receive(lot(index as u128 + 1, *contributor, *amount, earmark.map(|e| e + 100)));
            }
            let transfer = Uuid::from_u128(1);
            for (kind, beneficiary, amount) in &moves {
                let beneficiary = organisation(beneficiary + 100);
                let held = Place::Held { programme: PROGRAMME, beneficiary };
                let earmarked = Place::Earmarked { programme: PROGRAMME, beneficiary };
                let in_transit = Place::InTransit { beneficiary, transfer };
                let received = Place::Received { beneficiary };
                let (from, to) = match kind {
                    0 => (pool(), held),
                    1 => (held, pool()),
                    2 => (pool(), in_transit),
                    3 => (earmarked, in_transit),
                    4 => (held, in_transit),
                    5 => (in_transit, received),
                    6 => {
                        let purpose = Place::Redistributed { beneficiary, purpose: Purpose::Prevention };
                        book.move_local(received, purpose, Decimal::from(*amount)).unwrap();
                        continue;
                    }
                    _ => (pool(), Place::Refunded),
                };
                let available = book.total(from).eur_minor;
                book.move_eur(from, to, (*amount).min(available), Some(Decimal::from(6))).unwrap();
            }
            prop_assert!(book.check().is_ok(), "{:?}", book.check());
            let total_received: i64 = receipts.iter().map(|(_, amount, _)| amount).sum();
            let mut by_contributors = 0;
            for contributor in 1..4 {
                by_contributors += book.of_contributor(organisation(contributor), None).values().map(|holding| holding.eur_minor).sum::<i64>();
            }
            prop_assert_eq!(by_contributors, total_received);
        }
    }
}
