//! Instants and calendar dates as the ledger records them: instants in UTC with microsecond
//! precision, dates within the fund's life in the one form `YYYY-MM-DD`.
//!
//! The core never reads a clock; callers pass the time (and today's date) in.

use std::fmt;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant with microsecond precision, stored as microseconds since the Unix epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From microseconds since 1970-01-01T00:00:00Z; `None` outside chrono's range.
    pub fn from_unix_micros(micros: i64) -> Option<Timestamp> {
        DateTime::<Utc>::from_timestamp_micros(micros).map(|_| Timestamp(micros))
    }

    /// From a chrono instant, truncated to microseconds.
    pub fn from_datetime(instant: DateTime<Utc>) -> Timestamp {
        Timestamp(instant.timestamp_micros())
    }

    pub fn unix_micros(&self) -> i64 {
        self.0
    }

    pub fn to_datetime(&self) -> DateTime<Utc> {
        // The constructor only admits values chrono can represent.
        DateTime::<Utc>::from_timestamp_micros(self.0).unwrap_or_default()
    }

    /// The canonical text: RFC 3339, UTC, always six fractional digits, `Z`
    /// (`2026-11-23T03:25:16.000000Z`). The hash chain covers this text.
    pub fn to_canonical_string(&self) -> String {
        self.to_datetime()
            .to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    /// Parses RFC 3339 text (any offset), truncating to microseconds.
    pub fn parse(text: &str) -> Option<Timestamp> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|instant| Timestamp::from_datetime(instant.with_timezone(&Utc)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_canonical_string())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_canonical_string())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).ok_or_else(|| serde::de::Error::custom("not an RFC 3339 timestamp"))
    }
}

/// The first and last years of the fund's life. No date or period the fund deals with lies
/// outside them: the network was founded after 2000, and a bound keeps typos (`20266`) and hostile
/// values (`+99999-12-31`, `-0001-01-01`) out. Within these years every date has exactly four year
/// digits, so its text form `YYYY-MM-DD` sorts as the dates do (SQLite compares it as text).
pub const FIRST_FUND_YEAR: i32 = 2000;
pub const LAST_FUND_YEAR: i32 = 2099;

/// Why a text or a calendar date is not a [`FundDate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    #[error("must be a date YYYY-MM-DD")]
    Malformed,
    #[error("must lie between 2000-01-01 and 2099-12-31")]
    OutOfRange,
    #[error("must not be after today ({today})")]
    InFuture { today: FundDate },
}

/// A calendar day within the fund's life (2000-01-01 to 2099-12-31), written `YYYY-MM-DD` and
/// nothing else. A value that exists is in range; serde goes through [`FundDate::parse`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FundDate(NaiveDate);

impl FundDate {
    /// Parses exactly `YYYY-MM-DD` (four-digit year, two-digit month and day, a real day) within
    /// the fund's life. `2026-2-3`, `+99999-12-31`, ` 2026-02-03` and `2026-02-30` are refused.
    pub fn parse(text: &str) -> Result<FundDate, DateError> {
        let bytes = text.as_bytes();
        let shaped = bytes.len() == 10
            && bytes
                .iter()
                .enumerate()
                .all(|(position, byte)| match position {
                    4 | 7 => *byte == b'-',
                    _ => byte.is_ascii_digit(),
                });
        if !shaped {
            return Err(DateError::Malformed);
        }
        let number = |range: std::ops::Range<usize>| -> Result<u32, DateError> {
            text.get(range)
                .and_then(|digits| digits.parse().ok())
                .ok_or(DateError::Malformed)
        };
        let year = i32::try_from(number(0..4)?).map_err(|_| DateError::Malformed)?;
        let date = NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
            .ok_or(DateError::Malformed)?;
        FundDate::from_naive(date)
    }

    /// A chrono date, if it lies within the fund's life.
    pub fn from_naive(date: NaiveDate) -> Result<FundDate, DateError> {
        use chrono::Datelike;
        if (FIRST_FUND_YEAR..=LAST_FUND_YEAR).contains(&date.year()) {
            Ok(FundDate(date))
        } else {
            Err(DateError::OutOfRange)
        }
    }

    /// From year, month and day numbers.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Result<FundDate, DateError> {
        NaiveDate::from_ymd_opt(year, month, day)
            .ok_or(DateError::Malformed)
            .and_then(FundDate::from_naive)
    }

    /// The UTC calendar day of an instant: how callers that read a clock obtain "today".
    pub fn of_instant(instant: DateTime<Utc>) -> Result<FundDate, DateError> {
        FundDate::from_naive(instant.date_naive())
    }

    /// The same day as a chrono date (for arithmetic and storage).
    pub fn naive(&self) -> NaiveDate {
        self.0
    }

    /// This date if it is not after `today`: a value date is when money moved, which cannot be
    /// in the future.
    pub fn not_after(self, today: FundDate) -> Result<FundDate, DateError> {
        if self <= today {
            Ok(self)
        } else {
            Err(DateError::InFuture { today })
        }
    }
}

impl From<FundDate> for NaiveDate {
    fn from(date: FundDate) -> NaiveDate {
        date.0
    }
}

impl std::str::FromStr for FundDate {
    type Err = DateError;

    fn from_str(text: &str) -> Result<FundDate, DateError> {
        FundDate::parse(text)
    }
}

impl fmt::Display for FundDate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Four year digits always, since the year lies within 2000–2099.
        write!(formatter, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl fmt::Debug for FundDate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}

impl Serialize for FundDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FundDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        FundDate::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_has_six_fraction_digits_and_z() {
        // Proves the exact text the hash chain covers, and that it parses back.
        let instant = Timestamp::from_unix_micros(1_795_404_316_000_001).unwrap();
        assert_eq!(instant.to_canonical_string(), "2026-11-23T03:25:16.000001Z");
        assert_eq!(
            Timestamp::parse("2026-11-23T03:25:16.000001Z"),
            Some(instant)
        );
        assert_eq!(
            Timestamp::parse("2026-11-23T04:25:16.000001+01:00"),
            Some(instant)
        );
        assert_eq!(Timestamp::parse("2026-11-23"), None);
    }

    #[test]
    fn fund_dates_are_strict_and_bounded() {
        // Proves every hostile or sloppy date form is refused, the bounds are inclusive, and a
        // valid date round-trips through its text and through serde.
        for text in [
            "+99999-12-31",
            "-0001-01-01",
            "2026-2-3",
            "2026-02-3",
            "20260203",
            " 2026-02-03",
            "2026-02-03 ",
            "2026-02-30",
            "2026-13-01",
            "2026/02/03",
            "2026-02-03T00:00:00Z",
            "",
        ] {
            assert_eq!(
                FundDate::parse(text),
                Err(DateError::Malformed),
                "{text:?} should be malformed"
            );
        }
        for text in [
            "0000-01-01",
            "1999-12-31",
            "2100-01-01",
            "0999-01-01",
            "9999-12-31",
        ] {
            assert_eq!(FundDate::parse(text), Err(DateError::OutOfRange), "{text}");
        }
        for text in ["2000-01-01", "2099-12-31", "2028-02-29"] {
            let date = FundDate::parse(text).unwrap();
            assert_eq!(date.to_string(), text);
            let json = serde_json::to_string(&date).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<FundDate>(&json).unwrap(), date);
        }
        assert!(serde_json::from_str::<FundDate>("\"+99999-12-31\"").is_err());
        let far = NaiveDate::from_ymd_opt(99_999, 12, 31).unwrap();
        assert_eq!(FundDate::from_naive(far), Err(DateError::OutOfRange));
    }

    #[test]
    fn fund_dates_order_as_days_and_text_alike() {
        // Proves the text form sorts as the dates do (what SQLite relies on), across a year
        // boundary and the range's ends, and that a future date is refused against today.
        let texts = [
            "2000-01-01",
            "2026-11-30",
            "2026-12-31",
            "2027-01-01",
            "2099-12-31",
        ];
        let dates: Vec<FundDate> = texts
            .iter()
            .map(|text| FundDate::parse(text).unwrap())
            .collect();
        let mut by_text = texts.to_vec();
        by_text.sort_unstable();
        let mut by_date = dates.clone();
        by_date.sort_unstable();
        assert_eq!(
            by_date.iter().map(ToString::to_string).collect::<Vec<_>>(),
            by_text
        );
        let today = FundDate::from_ymd(2026, 12, 7).unwrap();
        assert_eq!(dates[1].not_after(today), Ok(dates[1]));
        assert_eq!(today.not_after(today), Ok(today));
        assert_eq!(
            dates[3].not_after(today),
            Err(DateError::InFuture { today })
        );
    }
}
