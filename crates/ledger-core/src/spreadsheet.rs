//! Cells of the CSV files people open in a spreadsheet (statements, templates): a cell a
//! spreadsheet would read as a formula is written as text, so a file from the ledger never runs a
//! formula (CSV injection). The hash-chained audit export is not such a file: it is read by
//! verifiers, byte for byte, and must keep every hashed value exactly.

use std::borrow::Cow;

/// The characters that make a spreadsheet read a cell as a formula (`=`, `+`, `-`, `@`), or that
/// some spreadsheets skip before reading one (tab, carriage return).
pub const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as it is safe to write in a human-facing CSV: a cell starting with one of
/// [`FORMULA_TRIGGERS`] is prefixed with an apostrophe, which spreadsheets take as "this is text",
/// unless it is a plain decimal number (`-12.50`, `+3`), which a spreadsheet reads as that number
/// and never as a formula, so amounts keep their sign and stay numbers.
pub fn neutralised_cell(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some(first) if FORMULA_TRIGGERS.contains(&first) && !is_plain_number(cell) => {
            Cow::Owned(format!("'{cell}"))
        }
        _ => Cow::Borrowed(cell),
    }
}

/// `[+-]digits[.digits]`, nothing else.
fn is_plain_number(cell: &str) -> bool {
    let unsigned = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_numbers_stay_numbers() {
        // Proves every formula trigger is neutralised with a leading apostrophe, that signed plain
        // numbers (amounts) are left as they are, and that other cells are untouched.
        for formula in [
            "=1+1",
            "=HYPERLINK(\"http://evil.example\")",
            "+1+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1:A9)",
            "\t=1",
            "\r=1",
            "-",
            "+",
            "-12.",
            "-.5",
            "-1e3",
        ] {
            assert_eq!(
                neutralised_cell(formula),
                format!("'{formula}"),
                "{formula:?}"
            );
        }
        for kept in [
            "-12.50", "+3", "-0", "1250.00", "montreal", "", "a=b", " =1", "'=1",
        ] {
            assert_eq!(neutralised_cell(kept), kept, "{kept:?}");
        }
    }
}
