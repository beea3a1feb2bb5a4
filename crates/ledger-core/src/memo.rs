//! Reasons given for corrections (a batch reversal, a report's rejection or reversal, held funds
//! returned) and the memos that quote them.
//!
//! A memo quotes the reason after a short prefix naming what was corrected. The limits fit inside
//! each other, checked at compile time: the longest prefix plus the longest reason is never more
//! than a memo may hold, so a reason the API accepts can never make the journal refuse its memo.

use std::fmt;

use crate::journal::MAX_MEMO_LENGTH;
use crate::organisation::{MAX_SLUG_LENGTH, Slug};
use crate::period::{MAX_PERIOD_TEXT_LENGTH, Period};
use crate::text::{TextError, TextKind, checked_text};

/// The most characters of a reason: a paragraph for the auditor who reads the correction.
pub const MAX_REASON_LENGTH: usize = 1_000;

/// The most characters a memo spends before the reason it quotes.
pub const MAX_MEMO_PREFIX_LENGTH: usize = 200;

const _: () = assert!(MAX_MEMO_PREFIX_LENGTH + MAX_REASON_LENGTH <= MAX_MEMO_LENGTH);

const BATCH_REVERSAL: (&str, &str) = ("Reversal of batch ", ": ");
const REPORT_REVERSAL: (&str, &str) = ("Redistribution report ", " reversed: ");
const HELD_FUNDS_RETURN: (&str, &str) = ("Held funds of ", " returned to the pool: ");

// Each prefix, with the longest text it names, fits in MAX_MEMO_PREFIX_LENGTH (the literals are
// ASCII, so their byte length is their character count).
const _: () = assert!(
    BATCH_REVERSAL.0.len() + MAX_PERIOD_TEXT_LENGTH + BATCH_REVERSAL.1.len()
        <= MAX_MEMO_PREFIX_LENGTH
);
const _: () = assert!(
    REPORT_REVERSAL.0.len() + MAX_PERIOD_TEXT_LENGTH + REPORT_REVERSAL.1.len()
        <= MAX_MEMO_PREFIX_LENGTH
);
const _: () = assert!(
    HELD_FUNDS_RETURN.0.len() + MAX_SLUG_LENGTH + HELD_FUNDS_RETURN.1.len()
        <= MAX_MEMO_PREFIX_LENGTH
);

/// A reason for a correction: trimmed, 1 to [`MAX_REASON_LENGTH`] characters of prose (the one
/// text rule of [`crate::text`]: a tab allowed, no other control character).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// The reason in `text`, without surrounding whitespace.
    pub fn parse(text: &str) -> Result<Reason, TextError> {
        checked_text(text, MAX_REASON_LENGTH, TextKind::Prose)
            .map(|reason| Reason(reason.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// The memo of a contribution batch's reversal.
pub fn batch_reversal(period: &Period, reason: &Reason) -> String {
    let (before, after) = BATCH_REVERSAL;
    format!("{before}{period}{after}{reason}")
}

/// The memo of an accepted redistribution report's reversal.
pub fn report_reversal(period: &Period, reason: &Reason) -> String {
    let (before, after) = REPORT_REVERSAL;
    format!("{before}{period}{after}{reason}")
}

/// The memo of held funds returned to a programme's pool.
pub fn held_funds_return(beneficiary: &Slug, reason: &Reason) -> String {
    let (before, after) = HELD_FUNDS_RETURN;
    format!("{before}{beneficiary}{after}{reason}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::PeriodKind;

    #[test]
    fn a_reason_is_trimmed_and_bounded_in_characters() {
        // Proves a reason is 1 to MAX_REASON_LENGTH characters after trimming, counted in
        // characters (not bytes), and that blank text is no reason.
        let longest = "é".repeat(MAX_REASON_LENGTH);
        assert_eq!(
            Reason::parse(&format!("  {longest} ")).map(|reason| reason.0),
            Ok(longest.clone())
        );
        assert_eq!(
            Reason::parse(&format!("{longest}e")),
            Err(TextError::Length {
                max_chars: MAX_REASON_LENGTH
            })
        );
        assert_eq!(
            Reason::parse(" \n\t"),
            Err(TextError::Length {
                max_chars: MAX_REASON_LENGTH
            })
        );
        assert_eq!(
            Reason::parse(""),
            Err(TextError::Length {
                max_chars: MAX_REASON_LENGTH
            })
        );
    }

    #[test]
    fn the_longest_reason_fits_every_memo() {
        // Proves each memo quoting the longest reason, after the longest text its prefix names,
        // stays within MAX_MEMO_LENGTH (a reason the API accepts never makes the journal refuse
        // the memo).
        let reason = Reason::parse(&"r".repeat(MAX_REASON_LENGTH)).unwrap();
        let period = Period::parse("2099-Q4", PeriodKind::Quarter).unwrap();
        let slug = Slug::parse(&format!("m{}", "x".repeat(MAX_SLUG_LENGTH - 1))).unwrap();
        for memo in [
            batch_reversal(&period, &reason),
            report_reversal(&period, &reason),
            held_funds_return(&slug, &reason),
        ] {
            assert!(memo.ends_with(reason.as_str()));
            assert!(memo.chars().count() <= MAX_MEMO_LENGTH, "{memo}");
            assert!(
                memo.chars().count() - MAX_REASON_LENGTH <= MAX_MEMO_PREFIX_LENGTH,
                "{memo}"
            );
        }
    }
}
