//! Contribution batches: a northern union's statement, for one period, of how many members gave the
//! solidarity euro in each section, plus any extra donations. Validation reports every bad line at
//! once, each under its JSON path (`lines[3].amount`).

use serde::{Deserialize, Serialize};

pub use crate::limits::MAX_LINE_MEMBERS;
use crate::limits::{ContributionLimits, MAX_BATCH_AMOUNT_MINOR, minor_text};
use crate::money::{Amount, AmountError, Currency};
use crate::text::{TextKind, checked_text};

/// The most lines one batch may have: a national union's sections and branches, with room to spare.
pub const MAX_BATCH_LINES: usize = 100_000;
/// The most characters of a line reference (a section or branch code).
pub const MAX_LINE_REFERENCE_LENGTH: usize = 100;

/// What a line of a batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Members × the programme's rate, exactly.
    Solidarity,
    /// A free amount given on top.
    Donation,
}

/// A batch line as submitted, still text where money is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    pub reference: String,
    pub members: i64,
    pub amount: String,
    pub kind: LineKind,
}

/// A validated line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchLine {
    pub reference: String,
    pub members: u64,
    pub amount: Amount,
    pub kind: LineKind,
}

/// Totals of a validated batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BatchTotals {
    /// Members declared on solidarity lines.
    pub members: u64,
    /// Everything: solidarity plus donations.
    pub amount: Amount,
    pub solidarity_amount: Amount,
    pub donation_amount: Amount,
}

/// A problem with one field of the input, under its JSON path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Checks every line against the programme's rate and currency and the contribution limits
/// (`crate::limits`), and totals the batch.
pub fn validate_lines(
    lines: &[LineInput],
    rate_per_member: Amount,
    limits: &ContributionLimits,
) -> Result<(Vec<BatchLine>, BatchTotals), Vec<FieldError>> {
    let currency: Currency = rate_per_member.currency();
    let mut errors = Vec::new();
    if lines.is_empty() {
        errors.push(FieldError::new("lines", "a batch needs at least one line"));
    }
    if lines.len() > MAX_BATCH_LINES {
        errors.push(FieldError::new(
            "lines",
            format!("a batch may have at most {MAX_BATCH_LINES} lines"),
        ));
        return Err(errors);
    }
    let mut valid = Vec::with_capacity(lines.len());
    let mut members_total: u64 = 0;
    let mut solidarity_total = Amount::zero(currency);
    let mut donation_total = Amount::zero(currency);
    let mut references = std::collections::HashSet::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        let path = |field: &str| format!("lines[{index}].{field}");
        let errors_before = errors.len();
        let reference = match checked_text(
            &line.reference,
            MAX_LINE_REFERENCE_LENGTH,
            TextKind::Identifier,
        ) {
            Ok(reference) => reference,
            Err(error) => {
                errors.push(FieldError::new(path("reference"), error.to_string()));
                ""
            }
        };
        if !reference.is_empty() && !references.insert(reference.to_owned()) {
            errors.push(FieldError::new(
                path("reference"),
                "appears on an earlier line of this batch",
            ));
        }
        let members = match line.kind {
            LineKind::Solidarity if line.members <= 0 => {
                errors.push(FieldError::new(
                    path("members"),
                    "must be a positive whole number",
                ));
                None
            }
            LineKind::Donation if line.members < 0 => {
                errors.push(FieldError::new(path("members"), "must not be negative"));
                None
            }
            _ if line.members as u64 > MAX_LINE_MEMBERS => {
                errors.push(FieldError::new(
                    path("members"),
                    format!("must be at most {MAX_LINE_MEMBERS}"),
                ));
                None
            }
            _ => Some(line.members as u64),
        };
        let amount = match Amount::parse(&line.amount, currency) {
            Ok(amount) if !amount.is_positive() => {
                errors.push(FieldError::new(path("amount"), "must be greater than zero"));
                None
            }
            Ok(amount)
                if line.kind == LineKind::Donation
                    && amount.minor() > limits.max_donation_line_minor() =>
            {
                errors.push(FieldError::new(
                    path("amount"),
                    format!(
                        "a donation line may be at most {} (limit max_donation_line)",
                        minor_text(limits.max_donation_line_minor(), amount)
                    ),
                ));
                None
            }
            Ok(amount) => Some(amount),
            Err(error) => {
                errors.push(FieldError::new(path("amount"), amount_message(&error)));
                None
            }
        };
        if let (LineKind::Solidarity, Some(members), Some(amount)) = (line.kind, members, amount) {
            match rate_per_member.checked_mul(members) {
                Ok(expected) if expected == amount => {}
                Ok(expected) => errors.push(FieldError::new(
                    path("amount"),
                    format!(
                        "a solidarity line must be members × rate: {members} × {} = {}, not {}",
                        rate_per_member.to_decimal_string(),
                        expected.to_decimal_string(),
                        amount.to_decimal_string()
                    ),
                )),
                Err(_) => errors.push(FieldError::new(
                    path("members"),
                    "members × rate is too large",
                )),
            }
        }
        if errors.len() > errors_before {
            continue;
        }
        if let (Some(members), Some(amount)) = (members, amount) {
            let added = match line.kind {
                LineKind::Solidarity => {
                    members_total = members_total.saturating_add(members);
                    solidarity_total
                        .checked_add(amount)
                        .map(|sum| solidarity_total = sum)
                }
                LineKind::Donation => donation_total
                    .checked_add(amount)
                    .map(|sum| donation_total = sum),
            };
            if added.is_err() {
                errors.extend(batch_total_too_large(rate_per_member));
                break;
            }
            valid.push(BatchLine {
                reference: reference.to_owned(),
                members,
                amount,
                kind: line.kind,
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let batch_too_large = || batch_total_too_large(rate_per_member);
    let amount = solidarity_total
        .checked_add(donation_total)
        .map_err(|_| batch_too_large())?;
    if amount.minor() > MAX_BATCH_AMOUNT_MINOR {
        return Err(batch_too_large());
    }
    Ok((
        valid,
        BatchTotals {
            members: members_total,
            amount,
            solidarity_amount: solidarity_total,
            donation_amount: donation_total,
        },
    ))
}

/// The error of a batch whose total exceeds [`MAX_BATCH_AMOUNT_MINOR`].
fn batch_total_too_large(like: Amount) -> Vec<FieldError> {
    vec![FieldError::new(
        "lines",
        format!(
            "the batch total may be at most {} (limit max_batch_amount)",
            minor_text(MAX_BATCH_AMOUNT_MINOR, like)
        ),
    )]
}

/// A sentence for a money field's parse error, without repeating the field name.
pub fn amount_message(error: &AmountError) -> String {
    match error {
        AmountError::Empty => "must be a decimal string such as \"12.50\"".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate() -> Amount {
        Amount::from_minor(100, Currency::eur()).unwrap()
    }

    fn limits() -> ContributionLimits {
        ContributionLimits::default()
    }

    #[test]
    fn donation_lines_and_batch_totals_stay_within_their_limits() {
        // Proves a donation line above the configured maximum and a batch above the batch limit
        // are refused with the limit named, and a donation at the maximum is accepted.
        let small = ContributionLimits::new(10_000).unwrap();
        let errors = validate_lines(
            &[line("gala", 0, "100.01", LineKind::Donation)],
            rate(),
            &small,
        )
        .unwrap_err();
        assert_eq!(errors[0].field, "lines[0].amount");
        assert!(
            errors[0].message.contains("max_donation_line"),
            "{errors:?}"
        );
        assert!(errors[0].message.contains("100.00"), "{errors:?}");
        assert!(
            validate_lines(
                &[line("gala", 0, "100.00", LineKind::Donation)],
                rate(),
                &small
            )
            .is_ok()
        );
        // 101 lines of 10,000,000 members at 10.00 EUR: 100,000,000.00 EUR over the batch limit.
        let rate_ten = Amount::from_minor(1_000, Currency::eur()).unwrap();
        let lines: Vec<LineInput> = (0..101)
            .map(|i| {
                line(
                    &format!("s{i}"),
                    10_000_000,
                    "100000000.00",
                    LineKind::Solidarity,
                )
            })
            .collect();
        let errors = validate_lines(&lines, rate_ten, &limits()).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "lines");
        assert!(errors[0].message.contains("max_batch_amount"), "{errors:?}");
        assert!(validate_lines(&lines[..100], rate_ten, &limits()).is_ok());
    }

    #[test]
    fn references_with_control_characters_are_refused() {
        // Proves ESC, CR/LF and tab are refused in a line reference, under the line's path.
        let errors = validate_lines(
            &[
                line("a\u{1b}[2J", 1, "1.00", LineKind::Solidarity),
                line("b\r\nc", 1, "1.00", LineKind::Solidarity),
                line("d\te", 1, "1.00", LineKind::Solidarity),
            ],
            rate(),
            &limits(),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "lines[0].reference",
                "lines[1].reference",
                "lines[2].reference"
            ]
        );
        assert!(
            errors[0].message.contains("control characters"),
            "{errors:?}"
        );
    }

    fn line(reference: &str, members: i64, amount: &str, kind: LineKind) -> LineInput {
        LineInput {
            reference: reference.into(),
            members,
            amount: amount.into(),
            kind,
        }
    }

    #[test]
    fn totals_solidarity_lines_and_donations() {
        // Proves members × rate lines and free donations total as expected.
        let (lines, totals) = validate_lines(
            &[
                line("section-01", 1200, "1200.00", LineKind::Solidarity),
                line("section-02", 35, "35", LineKind::Solidarity),
                line("gala", 0, "250.50", LineKind::Donation),
            ],
            rate(),
            &ContributionLimits::default(),
        )
        .unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(totals.members, 1235);
        assert_eq!(totals.solidarity_amount.minor(), 123_500);
        assert_eq!(totals.donation_amount.minor(), 25_050);
        assert_eq!(totals.amount.minor(), 148_550);
    }

    #[test]
    fn reports_every_bad_line_with_its_path() {
        // Proves all problems come back at once, each under lines[i].field.
        let errors = validate_lines(
            &[
                line("ok", 10, "10.00", LineKind::Solidarity),
                line("short", 10, "9.99", LineKind::Solidarity),
                line("", 0, "1.005", LineKind::Solidarity),
                line("ok", 5, "5.00", LineKind::Solidarity),
                line("gift", 0, "0", LineKind::Donation),
                line("neg", -3, "-3.00", LineKind::Solidarity),
            ],
            rate(),
            &ContributionLimits::default(),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "lines[1].amount",
                "lines[2].reference",
                "lines[2].members",
                "lines[2].amount",
                "lines[3].reference",
                "lines[4].amount",
                "lines[5].members",
                "lines[5].amount",
            ]
        );
        assert!(
            errors[0].message.contains("10 × 1.00 = 10.00, not 9.99"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn refuses_empty_and_oversized_batches() {
        // Proves the bounds on the number of lines.
        assert_eq!(
            validate_lines(&[], rate(), &limits()).unwrap_err()[0].field,
            "lines"
        );
        let many: Vec<LineInput> = (0..=MAX_BATCH_LINES)
            .map(|i| line(&format!("s{i}"), 1, "1.00", LineKind::Solidarity))
            .collect();
        assert_eq!(
            validate_lines(&many, rate(), &limits()).unwrap_err().len(),
            1
        );
    }
}

/// Where a batch stands, derived from its receivable and reversal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    Pledged,
    PartiallyReceived,
    Received,
    Reversed,
}

impl BatchStatus {
    /// From the batch total, what is still due, and whether it was reversed.
    pub fn derive(amount_minor: i64, outstanding_minor: i64, reversed: bool) -> BatchStatus {
        if reversed {
            BatchStatus::Reversed
        } else if outstanding_minor <= 0 {
            BatchStatus::Received
        } else if outstanding_minor >= amount_minor {
            BatchStatus::Pledged
        } else {
            BatchStatus::PartiallyReceived
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            BatchStatus::Pledged => "pledged",
            BatchStatus::PartiallyReceived => "partially_received",
            BatchStatus::Received => "received",
            BatchStatus::Reversed => "reversed",
        }
    }
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn status_follows_what_is_still_due() {
        // Proves pledged → partially_received → received, and reversal overriding all.
        assert_eq!(BatchStatus::derive(1000, 1000, false), BatchStatus::Pledged);
        assert_eq!(
            BatchStatus::derive(1000, 400, false),
            BatchStatus::PartiallyReceived
        );
        assert_eq!(BatchStatus::derive(1000, 0, false), BatchStatus::Received);
        assert_eq!(BatchStatus::derive(1000, 0, true), BatchStatus::Reversed);
    }
}
