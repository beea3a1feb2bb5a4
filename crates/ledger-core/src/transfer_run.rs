//! Transfer runs: how a programme's money for a period is shared among southern mutuals.
//!
//! Order of the rules (DESIGN.md "Money flows" 3):
//! 1. earmarked funds go to their beneficiary first;
//! 2. the pool is split among the policy's beneficiaries (pro rata to covered members, or fixed
//!    weights) with the largest-remainder split, ties going to the lower organisation id;
//! 3. an ineligible beneficiary's pool share is held for it, its failing conditions named; its
//!    earmarked funds and earlier holds stay where they are;
//! 4. an eligible beneficiary receives its pool share, its earmarked funds and what was held for it —
//!    unless the total is below the programme's minimum transfer, in which case the pool share is
//!    carried forward (stays in the pool) and the rest stays put;
//! 5. expected fees are reserved from fee coverage in beneficiary order; a transfer whose fees fee
//!    coverage cannot pay is not made and its pool share stays in the pool.
//!
//! The invariant, checked by [`TransferPlan::check`]: pool shares transferred + newly held + carried
//! forward = the pool, and every beneficiary's transfer is exactly its pool share + earmarked + held.

pub mod recorded;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::conditions::Eligibility;
use crate::fx::ExchangeRate;
use crate::journal::OrganisationId;
use crate::money::{Amount, AmountError, Currency};
use crate::organisation::ConditionCode;
use crate::settlement::{ExpectedLocal, FeeSchedule, expected_local};
use crate::split::{SplitError, split_by_weights};

/// The most beneficiaries one run may plan for: the network's mutuals many times over, and a bound on
/// the size of one journal transaction.
pub const MAX_RUN_BENEFICIARIES: usize = 2_000;

/// What the plan needs to know about one beneficiary.
#[derive(Debug, Clone)]
pub struct BeneficiaryInput {
    pub id: OrganisationId,
    /// Its weight in the pool split (covered members, or its fixed weight); 0 takes no pool share.
    pub weight: u64,
    /// Its own currency (what it is paid in).
    pub currency: Currency,
    pub eligibility: Eligibility,
    /// Earmarked funds waiting for it (programme currency).
    pub earmarked: Amount,
    /// Held for it by earlier runs (programme currency).
    pub held: Amount,
    pub fee_schedule: FeeSchedule,
}

/// Everything a plan is computed from.
#[derive(Debug, Clone)]
pub struct PlanInput {
    /// Unrestricted money available for the period (programme currency).
    pub pool: Amount,
    pub minimum_transfer: Amount,
    /// Fee coverage available to reserve the expected fees from.
    pub fee_coverage: Amount,
    pub beneficiaries: Vec<BeneficiaryInput>,
    /// Rates known for the beneficiaries' currencies, by currency code.
    pub rates: BTreeMap<String, ExchangeRate>,
}

/// What happens to one beneficiary's money in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareOutcome {
    /// Paid: a pending transfer will be created.
    Transfer,
    /// Ineligible: the pool share is held for it.
    Held,
    /// Below the minimum transfer: carried forward.
    CarriedForward,
    /// Fee coverage cannot pay the expected fees: not paid, the pool share stays in the pool.
    FeesNotCovered,
    /// Nothing for it this period.
    Nothing,
}

/// One beneficiary's line of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedShare {
    pub beneficiary_id: OrganisationId,
    pub outcome: ShareOutcome,
    pub eligible: bool,
    pub failing_conditions: Vec<ConditionCode>,
    pub weight: u64,
    /// Its part of the pool split.
    pub pool_share: Amount,
    /// Its earmarked funds available.
    pub earmarked: Amount,
    /// Held for it before this run.
    pub held_before: Amount,
    /// Paid now: pool share + earmarked + held before, when the outcome is `transfer`.
    pub transfer: Amount,
    /// Pool share moved to its held account now.
    pub newly_held: Amount,
    /// Pool share left in the pool for a later period.
    pub carried_forward: Amount,
    /// Fees reserved from fee coverage for the transfer.
    pub expected_fee: Amount,
    pub currency: Currency,
    /// The local amount expected, when a transfer is made and its rate is known.
    pub expected_local: Option<ExpectedLocal>,
    /// True when a transfer needs a rate that has not been given.
    pub rate_missing: bool,
}

/// Totals of a plan, all in the programme currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTotals {
    pub pool: Amount,
    /// Everything transferred (pool shares, earmarks, released holds).
    pub transferred: Amount,
    pub transferred_from_pool: Amount,
    pub earmarked_transferred: Amount,
    pub holds_released: Amount,
    pub newly_held: Amount,
    pub carried_forward: Amount,
    pub expected_fees: Amount,
    pub fee_coverage: Amount,
}

/// A transfer run's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferPlan {
    pub shares: Vec<PlannedShare>,
    pub totals: PlanTotals,
}

/// Why a plan could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error("a run may plan for at most {MAX_RUN_BENEFICIARIES} beneficiaries")]
    TooManyBeneficiaries,
    #[error("amounts of the plan are in different currencies")]
    MixedCurrencies,
    #[error(transparent)]
    Amount(#[from] AmountError),
    #[error(transparent)]
    Split(#[from] SplitError),
    #[error("the plan does not balance: {0}")]
    Unbalanced(String),
}

/// Computes the plan. Pure and deterministic: beneficiaries are taken in organisation-id order.
pub fn plan(input: &PlanInput) -> Result<TransferPlan, PlanError> {
    if input.beneficiaries.len() > MAX_RUN_BENEFICIARIES {
        return Err(PlanError::TooManyBeneficiaries);
    }
    let currency = input.pool.currency();
    let same_currency = |amount: Amount| amount.currency() == currency;
    if !same_currency(input.minimum_transfer)
        || !same_currency(input.fee_coverage)
        || input
            .beneficiaries
            .iter()
            .any(|b| !same_currency(b.earmarked) || !same_currency(b.held))
    {
        return Err(PlanError::MixedCurrencies);
    }
    let mut beneficiaries: Vec<&BeneficiaryInput> = input.beneficiaries.iter().collect();
    beneficiaries.sort_by_key(|beneficiary| beneficiary.id);
    let zero = Amount::zero(currency);
    let weights: Vec<u64> = beneficiaries.iter().map(|b| b.weight).collect();
    let pool_shares = if input.pool.is_positive() && weights.iter().any(|weight| *weight > 0) {
        split_by_weights(input.pool, &weights)?
    } else {
        vec![zero; beneficiaries.len()]
    };
    let mut coverage_left = input.fee_coverage;
    let mut shares = Vec::with_capacity(beneficiaries.len());
    for (beneficiary, pool_share) in beneficiaries.into_iter().zip(pool_shares) {
        let eligible = beneficiary.eligibility.eligible;
        let mut share = PlannedShare {
            beneficiary_id: beneficiary.id,
            outcome: ShareOutcome::Nothing,
            eligible,
            failing_conditions: beneficiary.eligibility.failing(),
            weight: beneficiary.weight,
            pool_share,
            earmarked: beneficiary.earmarked,
            held_before: beneficiary.held,
            transfer: zero,
            newly_held: zero,
            carried_forward: zero,
            expected_fee: zero,
            currency: beneficiary.currency,
            expected_local: None,
            rate_missing: false,
        };
        let candidate = pool_share
            .checked_add(beneficiary.earmarked)?
            .checked_add(beneficiary.held)?;
        if !eligible {
            share.outcome = ShareOutcome::Held;
            share.newly_held = pool_share;
        } else if !candidate.is_positive() {
            share.outcome = ShareOutcome::Nothing;
        } else if candidate.minor() < input.minimum_transfer.minor() {
            share.outcome = ShareOutcome::CarriedForward;
            share.carried_forward = pool_share;
        } else {
            let fee = beneficiary.fee_schedule.expected_fee(candidate)?;
            if fee.minor() > coverage_left.minor() {
                share.outcome = ShareOutcome::FeesNotCovered;
                share.carried_forward = pool_share;
                share.expected_fee = fee;
            } else {
                coverage_left = coverage_left.checked_sub(fee)?;
                share.outcome = ShareOutcome::Transfer;
                share.transfer = candidate;
                share.expected_fee = fee;
                let rate = input.rates.get(beneficiary.currency.code());
                match expected_local(candidate, beneficiary.currency, rate) {
                    Ok(expected) => share.expected_local = Some(expected),
                    Err(_) => share.rate_missing = true,
                }
            }
        }
        shares.push(share);
    }
    let sum = |pick: &dyn Fn(&PlannedShare) -> Amount| -> Result<Amount, PlanError> {
        shares
            .iter()
            .try_fold(zero, |total, share| total.checked_add(pick(share)))
            .map_err(PlanError::from)
    };
    let transferring = |share: &PlannedShare| share.outcome == ShareOutcome::Transfer;
    let totals = PlanTotals {
        pool: input.pool,
        transferred: sum(&|share| share.transfer)?,
        transferred_from_pool: sum(&|share| {
            if transferring(share) {
                share.pool_share
            } else {
                zero
            }
        })?,
        earmarked_transferred: sum(&|share| {
            if transferring(share) {
                share.earmarked
            } else {
                zero
            }
        })?,
        holds_released: sum(&|share| {
            if transferring(share) {
                share.held_before
            } else {
                zero
            }
        })?,
        newly_held: sum(&|share| share.newly_held)?,
        carried_forward: sum(&|share| share.carried_forward)?,
        expected_fees: sum(&|share| {
            if transferring(share) {
                share.expected_fee
            } else {
                zero
            }
        })?,
        fee_coverage: input.fee_coverage,
    };
    // With no weights at all, the whole pool is carried forward.
    let totals = if pool_is_unsplit(input, &shares) {
        PlanTotals {
            carried_forward: input.pool,
            ..totals
        }
    } else {
        totals
    };
    let plan = TransferPlan { shares, totals };
    plan.check()?;
    Ok(plan)
}

fn pool_is_unsplit(input: &PlanInput, shares: &[PlannedShare]) -> bool {
    input.pool.is_positive() && shares.iter().all(|share| share.pool_share.is_zero())
}

impl TransferPlan {
    /// Asserts the plan's invariants: the pool is fully accounted for and every transfer is exactly
    /// its parts. Called on every plan made, and by tests.
    pub fn check(&self) -> Result<(), PlanError> {
        let totals = &self.totals;
        let accounted = totals
            .transferred_from_pool
            .checked_add(totals.newly_held)?
            .checked_add(totals.carried_forward)?;
        if accounted != totals.pool {
            return Err(PlanError::Unbalanced(format!(
                "pool {} but transferred {} + held {} + carried forward {}",
                totals.pool,
                totals.transferred_from_pool,
                totals.newly_held,
                totals.carried_forward
            )));
        }
        for share in &self.shares {
            let parts = share
                .pool_share
                .checked_add(share.earmarked)?
                .checked_add(share.held_before)?;
            let consistent = match share.outcome {
                ShareOutcome::Transfer => share.transfer == parts && share.newly_held.is_zero(),
                ShareOutcome::Held => {
                    share.transfer.is_zero() && share.newly_held == share.pool_share
                }
                ShareOutcome::CarriedForward | ShareOutcome::FeesNotCovered => {
                    share.transfer.is_zero() && share.carried_forward == share.pool_share
                }
                ShareOutcome::Nothing => share.transfer.is_zero() && share.pool_share.is_zero(),
            };
            if !consistent {
                return Err(PlanError::Unbalanced(format!(
                    "beneficiary {} ({:?}) does not add up",
                    share.beneficiary_id, share.outcome
                )));
            }
        }
        if totals.expected_fees.minor() > totals.fee_coverage.minor() {
            return Err(PlanError::Unbalanced(
                "fees reserved exceed fee coverage".to_owned(),
            ));
        }
        Ok(())
    }

    /// The currencies of transfers that still need a rate.
    pub fn missing_rates(&self) -> Vec<Currency> {
        let mut missing: Vec<Currency> = self
            .shares
            .iter()
            .filter(|share| share.rate_missing)
            .map(|share| share.currency)
            .collect();
        missing.sort_by_key(|currency| currency.code());
        missing.dedup();
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::ConditionVerdict;
    use chrono::NaiveDate;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn eur(minor: i64) -> Amount {
        Amount::from_minor(minor, Currency::eur()).unwrap()
    }

    fn eligibility(eligible: bool) -> Eligibility {
        Eligibility {
            eligible,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            conditions: vec![ConditionVerdict {
                code: ConditionCode::PublicCofinancing,
                passed: eligible,
                parameter: None,
                observed: None,
                explanation: String::new(),
                facts: Vec::new(),
                pending: Vec::new(),
            }],
        }
    }

    fn beneficiary(id: u128, weight: u64, eligible: bool, currency: &str) -> BeneficiaryInput {
        BeneficiaryInput {
            id: OrganisationId::from_uuid(Uuid::from_u128(id)),
            weight,
            currency: Currency::from_code(currency).unwrap(),
            eligibility: eligibility(eligible),
            earmarked: eur(0),
            held: eur(0),
            fee_schedule: FeeSchedule::new(eur(1500), rust_decimal::Decimal::ZERO).unwrap(),
        }
    }

    fn input(pool: i64, beneficiaries: Vec<BeneficiaryInput>) -> PlanInput {
        let xof = Currency::from_code("XOF").unwrap();
        PlanInput {
            pool: eur(pool),
            minimum_transfer: eur(10_000),
            fee_coverage: eur(1_000_000),
            beneficiaries,
            rates: [(
                "XOF".to_owned(),
                ExchangeRate::fixed(Currency::eur(), xof).unwrap(),
            )]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn eligible_paid_ineligible_held_small_carried_forward() {
        // Proves the four outcomes on one pool: pro rata shares, a hold naming its condition, a
        // share below the minimum carried forward, and a CDF transfer that still needs its rate.
        let plan = plan(&input(
            1_000_000,
            vec![
                beneficiary(1, 600, true, "XOF"),
                beneficiary(2, 395, false, "CDF"),
                beneficiary(3, 5, true, "XOF"),
            ],
        ))
        .unwrap();
        let outcomes: Vec<ShareOutcome> = plan.shares.iter().map(|s| s.outcome).collect();
        assert_eq!(
            outcomes,
            [
                ShareOutcome::Transfer,
                ShareOutcome::Held,
                ShareOutcome::CarriedForward
            ]
        );
        assert_eq!(plan.shares[0].transfer, eur(600_000));
        assert_eq!(
            plan.shares[0]
                .expected_local
                .as_ref()
                .unwrap()
                .amount
                .minor(),
            3_935_742
        );
        assert_eq!(plan.shares[1].newly_held, eur(395_000));
        assert_eq!(
            plan.shares[1].failing_conditions,
            [ConditionCode::PublicCofinancing]
        );
        assert_eq!(plan.totals.carried_forward, eur(5_000));
        assert_eq!(plan.totals.expected_fees, eur(1500));
        assert!(plan.missing_rates().is_empty());
    }

    #[test]
    fn earmarks_and_holds_are_paid_to_their_beneficiary_when_eligible() {
        // Proves earmarked funds and earlier holds join the transfer of an eligible beneficiary and
        // stay put for an ineligible one.
        let mut paid = beneficiary(1, 1, true, "XOF");
        paid.earmarked = eur(20_000);
        paid.held = eur(30_000);
        let mut waiting = beneficiary(2, 1, false, "XOF");
        waiting.earmarked = eur(7_000);
        waiting.held = eur(9_000);
        let plan = plan(&input(100_000, vec![paid, waiting])).unwrap();
        assert_eq!(plan.shares[0].transfer, eur(50_000 + 20_000 + 30_000));
        assert_eq!(plan.totals.holds_released, eur(30_000));
        assert_eq!(plan.totals.earmarked_transferred, eur(20_000));
        assert_eq!(plan.shares[1].newly_held, eur(50_000));
        assert_eq!(plan.shares[1].transfer, eur(0));
    }

    #[test]
    fn no_eligible_beneficiary_is_a_plan_with_everything_held() {
        // Proves a programme with no eligible beneficiary still gets a valid plan.
        let plan = plan(&input(
            50_000,
            vec![
                beneficiary(1, 1, false, "XOF"),
                beneficiary(2, 3, false, "XOF"),
            ],
        ))
        .unwrap();
        assert_eq!(plan.totals.newly_held, eur(50_000));
        assert_eq!(plan.totals.transferred, eur(0));
    }

    #[test]
    fn fees_that_coverage_cannot_pay_leave_the_money_in_the_pool() {
        // Proves fee coverage is reserved in order and a transfer it cannot cover is not made.
        let mut run = input(
            1_000_000,
            vec![
                beneficiary(1, 1, true, "XOF"),
                beneficiary(2, 1, true, "XOF"),
            ],
        );
        run.fee_coverage = eur(1500);
        let plan = plan(&run).unwrap();
        assert_eq!(plan.shares[0].outcome, ShareOutcome::Transfer);
        assert_eq!(plan.shares[1].outcome, ShareOutcome::FeesNotCovered);
        assert_eq!(plan.totals.carried_forward, eur(500_000));
        assert_eq!(plan.totals.expected_fees, eur(1500));
    }

    proptest! {
        #[test]
        fn the_pool_is_always_fully_accounted_for(
            pool in 0i64..1_000_000_000,
            coverage in 0i64..100_000,
            minimum in 0i64..1_000_000,
            members in proptest::collection::vec((0u64..200_000, any::<bool>(), 0i64..100_000, 0i64..100_000), 1..30),
        ) {
            // Proves, for random programmes: transferred from pool + held + carried forward = pool,
            // fees reserved never exceed coverage, each transfer is its parts, and the pool never pays
            // a fee (fees are not part of any pool figure).
            let beneficiaries = members
                .iter()
                .enumerate()
                .map(|(index, (weight, eligible, earmarked, held))| {
                    let mut b = beneficiary(index as u128 + 1, *weight, *eligible, "XOF");
                    b.earmarked = eur(*earmarked);
                    b.held = eur(*held);
                    b
                })
                .collect();
            let mut run = input(pool, beneficiaries);
            run.fee_coverage = eur(coverage);
            run.minimum_transfer = eur(minimum);
            let plan = plan(&run).unwrap();
            let totals = plan.totals;
            prop_assert_eq!(
                totals.transferred_from_pool.minor() + totals.newly_held.minor() + totals.carried_forward.minor(),
                pool
            );
            prop_assert!(totals.expected_fees.minor() <= coverage);
            prop_assert_eq!(
                totals.transferred.minor(),
                totals.transferred_from_pool.minor() + totals.earmarked_transferred.minor() + totals.holds_released.minor()
            );
            for share in &plan.shares {
                if share.outcome == ShareOutcome::Transfer {
                    prop_assert!(share.transfer.minor() >= minimum);
                    let local = share.expected_local.as_ref().unwrap();
                    prop_assert!(local.amount.minor() > 0 || share.transfer.minor() == 0);
                }
                prop_assert!(share.eligible || share.outcome == ShareOutcome::Held);
            }
        }
    }
}
