//! First-in, first-out lots: how a contributor's euros are followed from a bank receipt to the care
//! they paid for. Each receipt is a lot (contributor, batch, EUR amount, earmark). Money leaving a
//! place (the pool, an earmarked fund, a hold, a transfer in transit, a beneficiary's received
//! funds) is taken from the oldest lots there first; earmarked lots only ever go to their
//! beneficiary. Every piece of every lot is always in exactly one place, so the totals of all
//! contributors add up to the books, to the cent.
//!
//! This is the reference model (pure, replayable): the store keeps the same state at write time.

use std::collections::BTreeMap;

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
    Pool,
    /// Received, restricted to one beneficiary, not yet allocated.
    Earmarked { beneficiary: OrganisationId },
    /// Allocated to a beneficiary that does not meet the conditions yet.
    Held { beneficiary: OrganisationId },
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

/// A receipt: the unit of tracing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub id: Uuid,
    pub contributor: OrganisationId,
    pub batch: Uuid,
    /// Minor units of EUR.
    pub amount_minor: i64,
    pub earmark: Option<OrganisationId>,
}

/// A part of a lot in one place, with its value in the beneficiary's currency once it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub place: Place,
    pub eur_minor: i64,
    /// Local minor units (exact), from the transfer's rate; zero until the piece is sent.
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

/// Every lot and where its pieces are, in lot order.
#[derive(Debug, Clone, Default)]
pub struct LotBook {
    lots: Vec<(Lot, Vec<Piece>)>,
}

impl LotBook {
    pub fn new() -> LotBook {
        LotBook::default()
    }

    /// A receipt enters the pool, or its beneficiary's earmarked fund.
    pub fn receive(&mut self, lot: Lot) {
        let place = match lot.earmark {
            Some(beneficiary) => Place::Earmarked { beneficiary },
            None => Place::Pool,
        };
        let piece = Piece {
            place,
            eur_minor: lot.amount_minor,
            local_minor: Decimal::ZERO,
        };
        self.lots.push((lot, vec![piece]));
    }

    /// Moves `eur_minor` from `from` to `to`, oldest lots first. `rate` (local units per EUR unit,
    /// as minor-to-minor) values pieces that get a local amount.
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
        let available = self.total(from);
        if available < eur_minor {
            return Err(LotError::NotEnough {
                place: from,
                available,
                wanted: eur_minor,
            });
        }
        let mut left = eur_minor;
        for (_, pieces) in &mut self.lots {
            if left == 0 {
                break;
            }
            let mut moved = Vec::new();
            for piece in pieces.iter_mut().filter(|piece| piece.place == from) {
                if left == 0 {
                    break;
                }
                let take = piece.eur_minor.min(left);
                left -= take;
                let local_taken = if take == piece.eur_minor {
                    piece.local_minor
                } else {
                    piece.local_minor * Decimal::from(take) / Decimal::from(piece.eur_minor)
                };
                piece.eur_minor -= take;
                piece.local_minor -= local_taken;
                let local = match rate {
                    Some(rate) => Decimal::from(take) * rate,
                    None => local_taken,
                };
                moved.push(Piece {
                    place: to,
                    eur_minor: take,
                    local_minor: local,
                });
            }
            pieces.retain(|piece| piece.eur_minor > 0);
            merge(pieces, moved);
        }
        Ok(())
    }

    /// Moves pieces out of `from` by their local value (a report is in the beneficiary's currency),
    /// oldest first; the euros follow in proportion, whole pieces keeping every cent.
    pub fn move_local(&mut self, from: Place, to: Place, local: Decimal) -> Result<(), LotError> {
        if local < Decimal::ZERO {
            return Err(LotError::Negative);
        }
        let mut left = local;
        for (_, pieces) in &mut self.lots {
            if left <= Decimal::ZERO {
                break;
            }
            let mut moved = Vec::new();
            for piece in pieces.iter_mut().filter(|piece| piece.place == from) {
                if left <= Decimal::ZERO {
                    break;
                }
                let (eur, local_taken) = if piece.local_minor <= left {
                    (piece.eur_minor, piece.local_minor)
                } else {
                    let eur = (Decimal::from(piece.eur_minor) * left / piece.local_minor)
                        .floor()
                        .try_into()
                        .unwrap_or(0_i64);
                    (eur, left)
                };
                left -= local_taken;
                piece.eur_minor -= eur;
                piece.local_minor -= local_taken;
                moved.push(Piece {
                    place: to,
                    eur_minor: eur,
                    local_minor: local_taken,
                });
            }
            pieces.retain(|piece| piece.eur_minor > 0 || piece.local_minor > Decimal::ZERO);
            merge(pieces, moved);
        }
        if left > Decimal::ZERO {
            return Err(LotError::NotEnough {
                place: from,
                available: 0,
                wanted: i64::try_from(left.ceil()).unwrap_or(i64::MAX),
            });
        }
        Ok(())
    }

    /// What one place holds, in EUR minor units.
    pub fn total(&self, place: Place) -> i64 {
        self.lots
            .iter()
            .flat_map(|(_, pieces)| pieces.iter())
            .filter(|piece| piece.place == place)
            .map(|piece| piece.eur_minor)
            .sum()
    }

    /// Where one contributor's money is: EUR and local minor units by place.
    pub fn of_contributor(&self, contributor: OrganisationId) -> BTreeMap<Place, (i64, Decimal)> {
        let mut places = BTreeMap::new();
        for (_, pieces) in self
            .lots
            .iter()
            .filter(|(lot, _)| lot.contributor == contributor)
        {
            for piece in pieces {
                let entry = places.entry(piece.place).or_insert((0, Decimal::ZERO));
                entry.0 += piece.eur_minor;
                entry.1 += piece.local_minor;
            }
        }
        places
    }

    /// Checks that every lot's pieces add up to the lot, none negative, and an earmarked lot never
    /// reached another beneficiary.
    pub fn check(&self) -> Result<(), String> {
        for (lot, pieces) in &self.lots {
            let sum: i64 = pieces.iter().map(|piece| piece.eur_minor).sum();
            if sum != lot.amount_minor {
                return Err(format!("lot {} has {sum} of {}", lot.id, lot.amount_minor));
            }
            if pieces.iter().any(|piece| piece.eur_minor < 0) {
                return Err(format!("lot {} has a negative piece", lot.id));
            }
            if let Some(earmark) = lot.earmark
                && pieces
                    .iter()
                    .any(|piece| beneficiary_of(piece.place).is_some_and(|b| b != earmark))
            {
                return Err(format!(
                    "earmarked lot {} reached another beneficiary",
                    lot.id
                ));
            }
        }
        Ok(())
    }
}

fn beneficiary_of(place: Place) -> Option<OrganisationId> {
    match place {
        Place::Pool | Place::Refunded => None,
        Place::Earmarked { beneficiary }
        | Place::Held { beneficiary }
        | Place::InTransit { beneficiary, .. }
        | Place::Received { beneficiary }
        | Place::Redistributed { beneficiary, .. } => Some(beneficiary),
    }
}

/// Adds moved pieces to a lot, merging with a piece already in the same place.
fn merge(pieces: &mut Vec<Piece>, moved: Vec<Piece>) {
    for piece in moved {
        match pieces
            .iter_mut()
            .find(|existing| existing.place == piece.place)
        {
            Some(existing) => {
                existing.eur_minor += piece.eur_minor;
                existing.local_minor += piece.local_minor;
            }
            None => pieces.push(piece),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn organisation(id: u128) -> OrganisationId {
        OrganisationId::from_uuid(Uuid::from_u128(id))
    }

    fn lot(id: u128, contributor: u128, amount: i64, earmark: Option<u128>) -> Lot {
        Lot {
            id: Uuid::from_u128(id),
            contributor: organisation(contributor),
            batch: Uuid::from_u128(id),
            amount_minor: amount,
            earmark: earmark.map(organisation),
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
        let transfer = Uuid::from_u128(7);
        let in_transit = Place::InTransit {
            beneficiary: mutual,
            transfer,
        };
        let rate = Some(Decimal::new(655_957, 5)); // XOF minor per EUR minor (655.957 / 100)
        book.move_eur(Place::Pool, in_transit, 700, rate).unwrap();
        assert_eq!(book.of_contributor(organisation(10))[&in_transit].0, 600);
        assert_eq!(book.of_contributor(organisation(20))[&in_transit].0, 100);
        assert_eq!(book.of_contributor(organisation(20))[&Place::Pool].0, 300);
        let received = Place::Received {
            beneficiary: mutual,
        };
        book.move_eur(in_transit, received, 700, None).unwrap();
        let subsidies = Place::Redistributed {
            beneficiary: mutual,
            purpose: Purpose::PremiumSubsidy,
        };
        // 600 EUR cents are 3,935.742 XOF: a report of 3,000 XOF comes from the first union only.
        book.move_local(received, subsidies, Decimal::from(3000))
            .unwrap();
        assert!(
            !book
                .of_contributor(organisation(20))
                .contains_key(&subsidies)
        );
        assert_eq!(
            book.of_contributor(organisation(10))[&subsidies].1,
            Decimal::from(3000)
        );
        book.check().unwrap();
    }

    #[test]
    fn earmarked_lots_only_go_to_their_beneficiary() {
        // Proves an earmarked lot waits in its own fund and is not taken by the pool's movements.
        let mut book = LotBook::new();
        book.receive(lot(1, 10, 500, Some(50)));
        book.receive(lot(2, 10, 300, None));
        let other = Place::Held {
            beneficiary: organisation(60),
        };
        assert!(book.move_eur(Place::Pool, other, 500, None).is_err());
        book.move_eur(Place::Pool, other, 300, None).unwrap();
        assert_eq!(
            book.total(Place::Earmarked {
                beneficiary: organisation(50)
            }),
            500
        );
        book.check().unwrap();
    }

    proptest! {
        #[test]
        fn every_cent_is_in_exactly_one_place(
            receipts in proptest::collection::vec((1u128..4, 1i64..100_000, proptest::option::of(1u128..3)), 1..40),
            moves in proptest::collection::vec((0usize..6, 1u128..3, 1i64..200_000), 0..40),
        ) {
            // Proves, for random receipts and movements: the contributors' totals add up to the
            // places' totals, each lot is whole, and earmarks are respected.
            let mut book = LotBook::new();
            for (index, (contributor, amount, earmark)) in receipts.iter().enumerate() {
                book.receive(lot(index as u128 + 1, *contributor, *amount, earmark.map(|e| e + 100)));
            }
            for (step, (kind, beneficiary, amount)) in moves.iter().enumerate() {
                let beneficiary = organisation(beneficiary + 100);
                let transfer = Uuid::from_u128(step as u128);
                let (from, to) = match kind {
                    0 => (Place::Pool, Place::Held { beneficiary }),
                    1 => (Place::Held { beneficiary }, Place::Pool),
                    2 => (Place::Pool, Place::InTransit { beneficiary, transfer }),
                    3 => (Place::Earmarked { beneficiary }, Place::InTransit { beneficiary, transfer }),
                    4 => (Place::Held { beneficiary }, Place::InTransit { beneficiary, transfer }),
                    _ => (Place::Pool, Place::Refunded),
                };
                let available = book.total(from);
                let _ = book.move_eur(from, to, (*amount).min(available), Some(Decimal::from(6)));
            }
            prop_assert!(book.check().is_ok(), "{:?}", book.check());
            let total_received: i64 = receipts.iter().map(|(_, amount, _)| amount).sum();
            let mut by_contributors = 0;
            for contributor in 1..4 {
                by_contributors += book.of_contributor(organisation(contributor)).values().map(|(eur, _)| eur).sum::<i64>();
            }
            prop_assert_eq!(by_contributors, total_received);
        }
    }
}
