//! Splitting an amount by weights with the largest-remainder method, so the parts always sum to the
//! whole and no minor unit is created or lost.
//!
//! Each part first gets `floor(total × weight / Σweights)`. The minor units left over go, one each, to
//! the parts with the largest remainders. Ties are broken by position: the part that comes first in the
//! input wins. Callers that want a tie-break by another key (an organisation id, say) order the weights
//! by that key first; the same input always gives the same output.

use crate::money::{Amount, AmountError};

/// The most parts one split may have: a transfer run over every beneficiary of the network fits many
/// times over, and it bounds the work of a single call.
pub const MAX_SPLIT_PARTS: usize = 100_000;

/// Why a split could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SplitError {
    #[error("there are no weights to split by")]
    NoWeights,
    #[error("the weights sum to zero")]
    ZeroTotalWeight,
    #[error("a split may have at most {MAX_SPLIT_PARTS} parts")]
    TooManyParts,
    #[error("a negative amount cannot be split")]
    NegativeTotal,
    #[error(transparent)]
    Amount(#[from] AmountError),
}

/// Splits `total` into one part per weight, proportionally, with parts summing exactly to `total`.
pub fn split_by_weights(total: Amount, weights: &[u64]) -> Result<Vec<Amount>, SplitError> {
    if weights.is_empty() {
        return Err(SplitError::NoWeights);
    }
    if weights.len() > MAX_SPLIT_PARTS {
        return Err(SplitError::TooManyParts);
    }
    if total.is_negative() {
        return Err(SplitError::NegativeTotal);
    }
    // u64 weights times at most 100,000 parts fit easily in u128; so does total × weight.
    let weight_sum: u128 = weights.iter().map(|&weight| u128::from(weight)).sum();
    if weight_sum == 0 {
        return Err(SplitError::ZeroTotalWeight);
    }
    let total_minor = u128::from(total.minor().unsigned_abs());
    let mut floors = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for &weight in weights {
        let product = total_minor * u128::from(weight);
        floors.push(product / weight_sum);
        remainders.push(product % weight_sum);
    }
    let distributed: u128 = floors.iter().sum();
    // Fewer than `weights.len()` units are left over, since every remainder is below `weight_sum`.
    let leftover = usize::try_from(total_minor - distributed).map_err(|_| AmountError::Overflow)?;
    let mut order: Vec<usize> = (0..weights.len()).collect();
    // Largest remainder first; on equal remainders the earlier position first (stable sort).
    order.sort_by(|&left, &right| remainders[right].cmp(&remainders[left]));
    for &index in order.iter().take(leftover) {
        floors[index] += 1;
    }
    floors
        .into_iter()
        .map(|part| {
            let minor = i64::try_from(part).map_err(|_| AmountError::Overflow)?;
            Ok(Amount::from_minor(minor, total.currency())?)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;

    fn eur(minor: i64) -> Amount {
        Amount::from_minor(minor, Currency::eur()).unwrap()
    }

    fn minors(parts: &[Amount]) -> Vec<i64> {
        parts.iter().map(Amount::minor).collect()
    }

    #[test]
    fn splits_proportionally_and_gives_leftovers_to_largest_remainders() {
        // Proves the method on a hand-checked case: 100 by 1:1:1 is 34/33/33 (first wins the tie).
        assert_eq!(
            minors(&split_by_weights(eur(100), &[1, 1, 1]).unwrap()),
            [34, 33, 33]
        );
        // 10 by 3:3:4 → exact 3/3/4.
        assert_eq!(
            minors(&split_by_weights(eur(10), &[3, 3, 4]).unwrap()),
            [3, 3, 4]
        );
        // 7 by 1:2 → 2.333 / 4.667 → the larger remainder (second) gets the unit: 2/5.
        assert_eq!(minors(&split_by_weights(eur(7), &[1, 2]).unwrap()), [2, 5]);
        // A zero weight gets nothing, even with leftovers.
        assert_eq!(
            minors(&split_by_weights(eur(5), &[0, 1, 1]).unwrap()),
            [0, 3, 2]
        );
    }

    #[test]
    fn refuses_degenerate_inputs() {
        // Proves the errors for splits that have no meaning.
        assert_eq!(split_by_weights(eur(1), &[]), Err(SplitError::NoWeights));
        assert_eq!(
            split_by_weights(eur(1), &[0, 0]),
            Err(SplitError::ZeroTotalWeight)
        );
        assert_eq!(
            split_by_weights(eur(-1), &[1]),
            Err(SplitError::NegativeTotal)
        );
        assert_eq!(
            split_by_weights(eur(1), &vec![1; MAX_SPLIT_PARTS + 1]),
            Err(SplitError::TooManyParts)
        );
    }

    proptest! {
        #[test]
        fn parts_always_sum_to_the_whole(total in 0..=crate::money::MAX_AMOUNT_MINOR, weights in prop::collection::vec(0..u64::MAX, 1..40)) {
            // Proves no minor unit is created or lost, and each part is within one unit of its exact share.
            prop_assume!(weights.iter().any(|&w| w > 0));
            let parts = split_by_weights(eur(total), &weights).unwrap();
            prop_assert_eq!(parts.iter().map(Amount::minor).sum::<i64>(), total);
            let weight_sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
            for (part, &weight) in parts.iter().zip(&weights) {
                let exact_floor = (total as u128 * u128::from(weight) / weight_sum) as i64;
                prop_assert!(part.minor() == exact_floor || part.minor() == exact_floor + 1);
            }
        }

        #[test]
        fn splitting_is_deterministic(total in 0..1_000_000_i64, weights in prop::collection::vec(0..1000_u64, 1..20)) {
            // Proves the same input always gives the same parts.
            prop_assume!(weights.iter().any(|&w| w > 0));
            prop_assert_eq!(split_by_weights(eur(total), &weights).unwrap(), split_by_weights(eur(total), &weights).unwrap());
        }
    }
}
