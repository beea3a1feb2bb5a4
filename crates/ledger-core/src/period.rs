//! Contribution periods: a month (`2026-11`), a quarter (`2026-Q4`) or a year (`2026`), in the form
//! the programme fixes, within the fund's life and no further ahead of today than a stated horizon.

use std::fmt;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::time::{FIRST_FUND_YEAR, FundDate, LAST_FUND_YEAR};

/// How often a programme collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Month,
    Quarter,
    Year,
}

impl PeriodKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::Year => "year",
        }
    }

    fn example(&self) -> &'static str {
        match self {
            PeriodKind::Month => "2026-11",
            PeriodKind::Quarter => "2026-Q4",
            PeriodKind::Year => "2026",
        }
    }
}

/// One period of a programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    year: i32,
    kind: PeriodKind,
    /// Month 1–12, quarter 1–4, or 1 for a year.
    index: u32,
}

/// The first and last year a period may name: the years of the fund's life, as for dates.
const FIRST_YEAR: i32 = FIRST_FUND_YEAR;
const LAST_YEAR: i32 = LAST_FUND_YEAR;

/// How far ahead of today a period may start, in months. A contributor may pledge for the
/// coming year (next year of an annual programme, the next four quarters, the next twelve months)
/// — unions vote their contribution a year ahead — but a period further out is a typo or an
/// attempt to book money against a future the fund cannot yet check (a batch for 2033).
pub const PERIOD_HORIZON_MONTHS: u32 = 12;

/// The most characters of a period's canonical text (`2026-11`, `2026-Q4`): memos quote it.
pub const MAX_PERIOD_TEXT_LENGTH: usize = 7;
// Four-digit years keep every canonical text within MAX_PERIOD_TEXT_LENGTH.
const _: () = assert!(FIRST_YEAR >= 1_000 && LAST_YEAR <= 9_999);

impl Period {
    /// Parses a period written in the programme's form.
    pub fn parse(text: &str, kind: PeriodKind) -> Result<Period, String> {
        let error = || {
            format!(
                "expected a {} period such as `{}`",
                kind.as_str(),
                kind.example()
            )
        };
        let digits = |part: &str, length: usize| {
            part.len() == length && part.bytes().all(|b| b.is_ascii_digit())
        };
        let (year_text, rest) = match text.split_once('-') {
            Some((year, rest)) => (year, Some(rest)),
            None => (text, None),
        };
        if !digits(year_text, 4) {
            return Err(error());
        }
        let year: i32 = year_text.parse().map_err(|_| error())?;
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return Err(format!("year must be between {FIRST_YEAR} and {LAST_YEAR}"));
        }
        let index = match (kind, rest) {
            (PeriodKind::Year, None) => 1,
            (PeriodKind::Month, Some(month)) if digits(month, 2) => {
                let month: u32 = month.parse().map_err(|_| error())?;
                if !(1..=12).contains(&month) {
                    return Err(error());
                }
                month
            }
            (PeriodKind::Quarter, Some(quarter)) => match quarter {
                "Q1" => 1,
                "Q2" => 2,
                "Q3" => 3,
                "Q4" => 4,
                _ => return Err(error()),
            },
            _ => return Err(error()),
        };
        Ok(Period { year, kind, index })
    }

    /// Parses a period in any of the three forms (for reads and reports that are not tied to one
    /// programme's form).
    pub fn parse_any(text: &str) -> Result<Period, String> {
        [PeriodKind::Month, PeriodKind::Quarter, PeriodKind::Year]
            .into_iter()
            .find_map(|kind| Period::parse(text, kind).ok())
            .ok_or_else(|| {
                format!(
                    "must be a month (2026-11), a quarter (2026-Q4) or a year (2026), between {FIRST_YEAR} and {LAST_YEAR}"
                )
            })
    }

    /// This period if it starts no more than [`PERIOD_HORIZON_MONTHS`] after `today` (the caller
    /// reads the clock; the core does not).
    pub fn within_horizon(self, today: FundDate) -> Result<Period, String> {
        let horizon = today
            .naive()
            .checked_add_months(Months::new(PERIOD_HORIZON_MONTHS))
            .unwrap_or(NaiveDate::MAX);
        if self.start() <= horizon {
            Ok(self)
        } else {
            Err(format!(
                "starts more than {PERIOD_HORIZON_MONTHS} months after today ({today}); periods up to {horizon} may be named"
            ))
        }
    }

    /// Parses a period in the programme's form that lies within the horizon of `today`.
    pub fn parse_within_horizon(
        text: &str,
        kind: PeriodKind,
        today: FundDate,
    ) -> Result<Period, String> {
        Period::parse(text, kind)?.within_horizon(today)
    }

    pub fn kind(&self) -> PeriodKind {
        self.kind
    }

    /// The first day of the period.
    pub fn start(&self) -> NaiveDate {
        let month = match self.kind {
            PeriodKind::Month => self.index,
            PeriodKind::Quarter => (self.index - 1) * 3 + 1,
            PeriodKind::Year => 1,
        };
        NaiveDate::from_ymd_opt(self.year, month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The last day of the period.
    pub fn end(&self) -> NaiveDate {
        let next = match self.kind {
            PeriodKind::Month => self.start().checked_add_months(chrono::Months::new(1)),
            PeriodKind::Quarter => self.start().checked_add_months(chrono::Months::new(3)),
            PeriodKind::Year => NaiveDate::from_ymd_opt(self.year + 1, 1, 1),
        };
        next.and_then(|date| date.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }

    /// True when `date` falls within the period.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start() <= date && date <= self.end()
    }

    /// The period of `kind` that contains `date`.
    pub fn containing(date: NaiveDate, kind: PeriodKind) -> Period {
        let index = match kind {
            PeriodKind::Month => date.month(),
            PeriodKind::Quarter => (date.month() - 1) / 3 + 1,
            PeriodKind::Year => 1,
        };
        Period {
            year: date.year(),
            kind,
            index,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PeriodKind::Month => write!(formatter, "{:04}-{:02}", self.year, self.index),
            PeriodKind::Quarter => write!(formatter, "{:04}-Q{}", self.year, self.index),
            PeriodKind::Year => write!(formatter, "{:04}", self.year),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn canonical_text_parses_back_and_fits_its_bound() {
        // Proves every form's canonical text, up to the last year, parses back without its kind
        // and is at most MAX_PERIOD_TEXT_LENGTH characters (memos rely on the bound).
        for kind in [PeriodKind::Month, PeriodKind::Quarter, PeriodKind::Year] {
            for date in [date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)] {
                let period = Period::containing(date, kind);
                let text = period.to_string();
                assert!(text.chars().count() <= MAX_PERIOD_TEXT_LENGTH, "{text}");
                assert_eq!(Period::parse_any(&text), Ok(period));
            }
        }
        assert!(Period::parse_any("2026-13").is_err());
        assert!(Period::parse_any("garbage").is_err());
    }

    #[test]
    fn parses_each_form_with_its_bounds() {
        // Proves the three forms, their first and last days, and canonical text.
        let month = Period::parse("2026-11", PeriodKind::Month).unwrap();
        assert_eq!(
            (month.start(), month.end()),
            (date(2026, 11, 1), date(2026, 11, 30))
        );
        assert_eq!(month.to_string(), "2026-11");
        let february = Period::parse("2028-02", PeriodKind::Month).unwrap();
        assert_eq!(february.end(), date(2028, 2, 29));
        let quarter = Period::parse("2026-Q4", PeriodKind::Quarter).unwrap();
        assert_eq!(
            (quarter.start(), quarter.end()),
            (date(2026, 10, 1), date(2026, 12, 31))
        );
        assert_eq!(quarter.to_string(), "2026-Q4");
        let year = Period::parse("2026", PeriodKind::Year).unwrap();
        assert_eq!(
            (year.start(), year.end()),
            (date(2026, 1, 1), date(2026, 12, 31))
        );
        assert!(year.contains(date(2026, 6, 30)));
        assert!(!month.contains(date(2026, 12, 1)));
        assert_eq!(
            Period::containing(date(2026, 11, 23), PeriodKind::Quarter),
            quarter
        );
    }

    #[test]
    fn refuses_other_forms() {
        // Proves a period must be in the programme's form, exactly.
        for (text, kind) in [
            ("2026-11", PeriodKind::Quarter),
            ("2026-Q4", PeriodKind::Month),
            ("2026", PeriodKind::Month),
            ("2026-13", PeriodKind::Month),
            ("2026-00", PeriodKind::Month),
            ("2026-1", PeriodKind::Month),
            ("2026-Q5", PeriodKind::Quarter),
            ("2026-q4", PeriodKind::Quarter),
            ("26", PeriodKind::Year),
            ("1999", PeriodKind::Year),
            ("2026-11-01", PeriodKind::Month),
            ("", PeriodKind::Year),
            (" 2026", PeriodKind::Year),
        ] {
            assert!(Period::parse(text, kind).is_err(), "{text} as {kind:?}");
        }
    }

    #[test]
    fn periods_stay_within_the_fund_life_and_horizon() {
        // Proves periods beyond 2099 are refused, and that a period may start at most
        // PERIOD_HORIZON_MONTHS after today, whatever its form.
        assert!(Period::parse("2099-12", PeriodKind::Month).is_ok());
        assert!(Period::parse("2100", PeriodKind::Year).is_err());
        assert!(Period::parse("2100-Q1", PeriodKind::Quarter).is_err());
        let today = FundDate::from_ymd(2026, 12, 7).unwrap();
        for (text, kind, allowed) in [
            ("2026-11", PeriodKind::Month, true),
            ("2027-12", PeriodKind::Month, true),
            ("2028-01", PeriodKind::Month, false),
            ("2027-Q4", PeriodKind::Quarter, true),
            ("2028-Q1", PeriodKind::Quarter, false),
            ("2027", PeriodKind::Year, true),
            ("2028", PeriodKind::Year, false),
            ("2033", PeriodKind::Year, false),
            ("2001", PeriodKind::Year, true),
        ] {
            assert_eq!(
                Period::parse_within_horizon(text, kind, today).is_ok(),
                allowed,
                "{text} on {today}"
            );
        }
        // The horizon is counted from today's day: on 2026-12-01 the month 2027-12 is allowed.
        let first = FundDate::from_ymd(2026, 12, 1).unwrap();
        assert!(Period::parse_within_horizon("2027-12", PeriodKind::Month, first).is_ok());
    }

    #[test]
    fn any_form_parses_once() {
        // Proves a reading filter accepts each form exactly and refuses garbage.
        assert_eq!(
            Period::parse_any("2026-11").unwrap().kind(),
            PeriodKind::Month
        );
        assert_eq!(
            Period::parse_any("2026-Q4").unwrap().kind(),
            PeriodKind::Quarter
        );
        assert_eq!(Period::parse_any("2026").unwrap().kind(), PeriodKind::Year);
        for text in ["garbage", "2026-1", "33333", "2026-11-01", ""] {
            assert!(Period::parse_any(text).is_err(), "{text}");
        }
    }
}
