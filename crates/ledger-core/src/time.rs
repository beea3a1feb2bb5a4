//! Instants as the ledger records them: UTC, microsecond precision, one canonical text form.
//!
//! The core never reads a clock; callers pass the time in.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
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
}
