//! Limits on contributed money that keep every balance far inside its 64-bit integer range, each
//! with its reason, and the compile-time checks that each fits inside the next: a line inside a
//! batch, a batch inside a contributor's period, a contributor's period (over a century of monthly
//! periods) inside an account.
//!
//! All limits are in minor units of the programme's currency (EUR: cents), since that is what
//! balances count. Without them, 9,220 batches of ten trillion euros pushed a programme's shared
//! pledged account to `i64::MAX`, and every contributor's next batch failed.

use crate::money::{Amount, MAX_AMOUNT_MINOR};

/// The most members one batch line may declare: more than any union section has (the largest
/// northern unions count a few hundred thousand members in all).
pub const MAX_LINE_MEMBERS: u64 = 10_000_000;

/// The highest rate per member a programme may set: 1,000.00 EUR (or 100,000 XOF), a thousand times
/// the solidarity euro. Bounds a solidarity line, which is members × rate.
pub const MAX_RATE_PER_MEMBER_MINOR: i64 = 100_000;

/// The largest solidarity line: [`MAX_LINE_MEMBERS`] × [`MAX_RATE_PER_MEMBER_MINOR`]. It follows
/// from those two; a solidarity line is always exactly members × rate.
pub const MAX_SOLIDARITY_LINE_MINOR: i64 = MAX_LINE_MEMBERS as i64 * MAX_RATE_PER_MEMBER_MINOR;

/// The ceiling of the configurable donation limit (`--max-donation-line-minor`): 1,000,000,000.00
/// EUR. No setting may allow more on one donation line.
pub const MAX_DONATION_LINE_CEILING_MINOR: i64 = 100_000_000_000;

/// The default largest donation line: 1,000,000.00 EUR, far above any gala or bequest a union has
/// passed on; an operator may raise it up to [`MAX_DONATION_LINE_CEILING_MINOR`].
pub const DEFAULT_MAX_DONATION_LINE_MINOR: i64 = 100_000_000;

/// The largest batch total: 10,000,000,000.00 EUR, ten thousand times a large union's yearly
/// solidarity euros. Holds the largest solidarity line or donation line on its own.
pub const MAX_BATCH_AMOUNT_MINOR: i64 = 1_000_000_000_000;

/// The most one contributor may pledge to one programme for one period, all its batches together
/// (supplementary batches and reversed ones included, as the journal counts both):
/// 100,000,000,000.00 EUR, ten batches at the batch limit.
pub const MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR: i64 = 10_000_000_000_000;

/// Monthly periods in a century: how many periods one contributor can pledge for, at most, over the
/// fund's life.
pub const PERIODS_IN_A_CENTURY: i64 = 1_200;

/// The largest magnitude any account's balance may reach, per programme account (pledged, pool,
/// earmarked fund) as for every other: 10^17 minor units, 1/92 of `i64::MAX`. One contributor
/// pledging the most in every month of a century reaches an eighth of it, so a single contributor
/// cannot lock the others out of a programme; and a balance at the limit plus any single amount
/// still fits an `i64`, so the check itself never overflows. The writer refuses a request that
/// would cross it (`StoreError::BalanceLimit`), and the database refuses it too.
pub const MAX_ACCOUNT_BALANCE_MINOR: i64 = 100_000_000_000_000_000;

const _: () = assert!(MAX_SOLIDARITY_LINE_MINOR <= MAX_BATCH_AMOUNT_MINOR);
const _: () = assert!(DEFAULT_MAX_DONATION_LINE_MINOR <= MAX_DONATION_LINE_CEILING_MINOR);
const _: () = assert!(MAX_DONATION_LINE_CEILING_MINOR <= MAX_BATCH_AMOUNT_MINOR);
const _: () = assert!(MAX_BATCH_AMOUNT_MINOR <= MAX_AMOUNT_MINOR);
const _: () = assert!(MAX_BATCH_AMOUNT_MINOR <= MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR);
const _: () = assert!(
    MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR * PERIODS_IN_A_CENTURY <= MAX_ACCOUNT_BALANCE_MINOR / 8
);
const _: () = assert!(MAX_ACCOUNT_BALANCE_MINOR <= i64::MAX / 64);
const _: () = assert!(
    MAX_ACCOUNT_BALANCE_MINOR
        .checked_add(MAX_AMOUNT_MINOR)
        .is_some()
);

/// The limits an operator may set for contributions, each within its ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContributionLimits {
    max_donation_line_minor: i64,
}

/// Why a configured limit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitsError {
    #[error(
        "the largest donation line must be 1 to {MAX_DONATION_LINE_CEILING_MINOR} minor units, not {0}"
    )]
    DonationLine(i64),
}

impl ContributionLimits {
    /// Limits with the largest donation line set (minor units, 1 to the ceiling).
    pub fn new(max_donation_line_minor: i64) -> Result<ContributionLimits, LimitsError> {
        if !(1..=MAX_DONATION_LINE_CEILING_MINOR).contains(&max_donation_line_minor) {
            return Err(LimitsError::DonationLine(max_donation_line_minor));
        }
        Ok(ContributionLimits {
            max_donation_line_minor,
        })
    }

    /// The largest donation line, in minor units.
    pub fn max_donation_line_minor(&self) -> i64 {
        self.max_donation_line_minor
    }
}

impl Default for ContributionLimits {
    fn default() -> Self {
        ContributionLimits {
            max_donation_line_minor: DEFAULT_MAX_DONATION_LINE_MINOR,
        }
    }
}

/// Checks a programme's rate per member against [`MAX_RATE_PER_MEMBER_MINOR`].
pub fn check_rate_per_member(rate: Amount) -> Result<(), String> {
    if rate.minor() > MAX_RATE_PER_MEMBER_MINOR {
        return Err(format!(
            "must be at most {} (limit max_rate_per_member)",
            minor_text(MAX_RATE_PER_MEMBER_MINOR, rate)
        ));
    }
    Ok(())
}

/// A limit as decimal text in the currency of `like`.
pub fn minor_text(minor: i64, like: Amount) -> String {
    crate::money::decimal_string(minor, like.currency())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn eur(minor: i64) -> Amount {
        Amount::from_minor(minor, Currency::eur()).unwrap()
    }

    #[test]
    fn configured_donation_limit_stays_under_its_ceiling() {
        // Proves the setting is refused at zero and above the ceiling.
        assert!(ContributionLimits::new(0).is_err());
        assert!(ContributionLimits::new(MAX_DONATION_LINE_CEILING_MINOR + 1).is_err());
        assert_eq!(
            ContributionLimits::new(MAX_DONATION_LINE_CEILING_MINOR)
                .unwrap()
                .max_donation_line_minor(),
            MAX_DONATION_LINE_CEILING_MINOR
        );
    }

    #[test]
    fn rate_per_member_is_bounded() {
        // Proves a programme rate above the limit is refused, at the limit accepted.
        assert!(check_rate_per_member(eur(MAX_RATE_PER_MEMBER_MINOR)).is_ok());
        assert!(check_rate_per_member(eur(MAX_RATE_PER_MEMBER_MINOR + 1)).is_err());
    }
}
