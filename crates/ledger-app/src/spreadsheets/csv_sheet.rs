//! CSV batches as spreadsheets export them: UTF-8 with or without a byte order mark, or
//! Windows-1252 (what French and Spanish Excel write by default); `,` or `;` between cells.

use std::borrow::Cow;

use super::cells::{Cell, Rows};
use super::{MAX_SHEET_COLUMNS, MAX_SHEET_ROWS, file_error};
use crate::error::AppError;

/// The text of a CSV file: UTF-8 when it is valid UTF-8 (a BOM dropped), Windows-1252 otherwise
/// (every byte is a character there, so nothing is lost; control characters are refused later by
/// the text rules of each field).
pub fn decoded(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

/// The separator of the file: `;` when the first line has more of them than commas (the
/// spreadsheets of decimal-comma countries), `,` otherwise.
fn separator(text: &str) -> u8 {
    let first_line = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default();
    let count = |wanted: char| {
        first_line
            .chars()
            .filter(|letter| *letter == wanted)
            .count()
    };
    if count(';') > count(',') { b';' } else { b',' }
}

/// The rows of a CSV file, numbered as a spreadsheet numbers them (the first record is row 1).
pub fn rows(bytes: &[u8]) -> Result<Rows, AppError> {
    let text = decoded(bytes);
    let separator = separator(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut row: u32 = 0;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                return Err(file_error(format!(
                    "is not a readable CSV file after row {row}: {error}"
                )));
            }
        }
        row += 1;
        if row > MAX_SHEET_ROWS {
            return Err(file_error(format!(
                "has more than {MAX_SHEET_ROWS} rows (a batch has at most {} lines)",
                ledger_core::contribution::MAX_BATCH_LINES
            )));
        }
        let cells = record
            .iter()
            .take(MAX_SHEET_COLUMNS as usize)
            .map(|cell| {
                if cell.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(cell.to_owned())
                }
            })
            .collect();
        rows.push((row, cells));
    }
    Ok(Rows {
        rows,
        decimal_separator: Some(if separator == b';' { ',' } else { '.' }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_and_utf8_with_a_bom_read_the_same() {
        // Proves a French Excel export (`;`, decimal comma, Windows-1252) and the same sheet in
        // UTF-8 with a BOM give the same lines, and that the separator is detected.
        let utf8 =
            "Référence;Membres;Montant;Type\r\nSection Orléans;1 200;1 200,00;solidarité\r\n";
        let (windows, _, unmappable) = encoding_rs::WINDOWS_1252.encode(utf8);
        assert!(!unmappable);
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(utf8.as_bytes());
        let from_windows = super::super::cells::batch_of_rows(rows(&windows).unwrap()).unwrap();
        let from_bom = super::super::cells::batch_of_rows(rows(&with_bom).unwrap()).unwrap();
        assert_eq!(from_windows, from_bom);
        assert_eq!(from_windows.lines[0].reference, "Section Orléans");
        assert_eq!(from_windows.lines[0].amount, "1200.00");
        assert_eq!(from_windows.headers[0].as_deref(), Some("Référence"));
        let english = rows(b"reference,members,amount\nx,\"1,200\",\"1,200.00\"\n").unwrap();
        let english = super::super::cells::batch_of_rows(english).unwrap();
        assert_eq!(
            (english.lines[0].members, english.lines[0].amount.as_str()),
            (1200, "1200.00")
        );
    }
}
