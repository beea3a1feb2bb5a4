//! Versions of registry details (an organisation's name, contact, covered members and fee
//! schedule; a programme's rules): each version takes effect from a date, none is ever changed,
//! and what counts on a date is the version in force then. Pure: the versions are passed in, in
//! the order they were recorded.

use chrono::NaiveDate;

/// Why a new version was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VersionError {
    #[error(
        "takes effect on {next}, before the previous version's effective date {previous}: versions take effect in the order they are recorded"
    )]
    BeforePrevious {
        previous: NaiveDate,
        next: NaiveDate,
    },
}

/// A new version may take effect on the previous one's date or later, never before: the order
/// versions are recorded in is the order they take effect in, so a past date's answer never
/// changes behind a later one.
pub fn check_effective_from(
    previous: Option<NaiveDate>,
    next: NaiveDate,
) -> Result<(), VersionError> {
    match previous {
        Some(previous) if next < previous => Err(VersionError::BeforePrevious { previous, next }),
        _ => Ok(()),
    }
}

/// The version in force on `date`: the last recorded whose effective date is on or before it;
/// `None` when none has taken effect yet (the details as first registered hold).
pub fn in_force<T>(
    versions: &[T],
    effective_from: impl Fn(&T) -> NaiveDate,
    date: NaiveDate,
) -> Option<&T> {
    versions
        .iter()
        .rev()
        .find(|version| effective_from(version) <= date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_version_in_force_is_the_last_one_effective_by_the_date() {
        // Proves the version of each date: none before the first takes effect, then the latest
        // effective one, and among versions effective the same day the one recorded last.
        let versions = [
            (date("2026-03-01"), 4000),
            (date("2026-07-01"), 9000),
            (date("2026-07-01"), 9500),
        ];
        let pick = |on: &str| in_force(&versions, |version| version.0, date(on)).map(|v| v.1);
        assert_eq!(pick("2026-02-28"), None);
        assert_eq!(pick("2026-03-01"), Some(4000));
        assert_eq!(pick("2026-06-30"), Some(4000));
        assert_eq!(pick("2026-07-01"), Some(9500));
        assert_eq!(pick("2030-01-01"), Some(9500));
    }

    #[test]
    fn a_version_cannot_take_effect_before_the_previous_one() {
        // Proves the effective dates of versions never go back; the same day is allowed.
        assert!(check_effective_from(None, date("2020-01-01")).is_ok());
        assert!(check_effective_from(Some(date("2026-07-01")), date("2026-07-01")).is_ok());
        assert_eq!(
            check_effective_from(Some(date("2026-07-01")), date("2026-06-30")),
            Err(VersionError::BeforePrevious {
                previous: date("2026-07-01"),
                next: date("2026-06-30")
            })
        );
    }
}
