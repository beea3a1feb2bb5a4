//! `.xlsx` batches: the first worksheet, read with `calamine` cell by cell. Before calamine opens
//! the file, its zip archive is measured by inflating every member into nothing with a budget
//! ([`MAX_XLSX_INFLATED_BYTES`]), so a zip bomb (a few kilobytes that inflate to gigabytes, or
//! sizes that lie in the zip directory) is refused before anything holds it in memory. Cells are
//! streamed, not gathered into calamine's dense grid, so one cell at `XFD1048576` cannot make it
//! allocate billions of cells; cells beyond [`MAX_SHEET_ROWS`] rows are refused, beyond
//! [`MAX_SHEET_COLUMNS`] columns ignored. A formula is refused, never evaluated nor trusted for
//! its cached value.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use calamine::{DataRef, Reader, Xlsx};

use super::cells::{Cell, Rows};
use super::{MAX_SHEET_COLUMNS, MAX_SHEET_ROWS, file_error};
use crate::error::AppError;

/// The most bytes the members of an `.xlsx` may inflate to, together: a 100,000-line sheet is
/// about 25 MiB of XML (shared strings included), so 64 MiB leaves room; anything beyond is a
/// bomb or not a batch.
pub const MAX_XLSX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;

/// The most members an `.xlsx` archive may have (a workbook of one sheet has about ten).
pub const MAX_XLSX_MEMBERS: usize = 1_000;

/// Inflates every member of the archive into nothing, counting, and refuses the file once the
/// count passes [`MAX_XLSX_INFLATED_BYTES`] (whatever the zip directory claims).
fn measure(bytes: &[u8]) -> Result<(), AppError> {
    let not_xlsx = |error: zip::result::ZipError| {
        file_error(format!("is not an .xlsx workbook (a zip archive): {error}"))
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(not_xlsx)?;
    if archive.len() > MAX_XLSX_MEMBERS {
        return Err(file_error(format!(
            "has {} parts; an .xlsx batch has at most {MAX_XLSX_MEMBERS}",
            archive.len()
        )));
    }
    let mut left = MAX_XLSX_INFLATED_BYTES;
    let too_large = || {
        file_error(format!(
            "inflates to more than {MAX_XLSX_INFLATED_BYTES} bytes: refused (a batch sheet is far smaller)"
        ))
    };
    for index in 0..archive.len() {
        let member = archive.by_index(index).map_err(not_xlsx)?;
        if member.size() > left {
            return Err(too_large());
        }
        let inflated = std::io::copy(&mut member.take(left + 1), &mut std::io::sink())
            .map_err(|error| file_error(format!("has a damaged part: {error}")))?;
        if inflated > left {
            return Err(too_large());
        }
        left -= inflated;
    }
    Ok(())
}

/// The cell as a batch reads it.
fn cell_of(value: DataRef<'_>, formula: Option<String>) -> Cell {
    if formula.is_some_and(|formula| !formula.is_empty()) {
        return Cell::Refused("is a formula: type (or paste) its value instead");
    }
    match value {
        DataRef::Empty => Cell::Empty,
        DataRef::String(text) => Cell::Text(text),
        DataRef::SharedString(text) => Cell::Text(text.to_owned()),
        DataRef::Int(number) => Cell::Number(number.to_string()),
        // Rust writes a float in the shortest decimal form that reads back as the same float,
        // never with an exponent: what the cell shows, with a decimal point.
        DataRef::Float(number) if number.is_finite() => Cell::Number(number.to_string()),
        DataRef::Float(_) => Cell::Refused("is not a number"),
        DataRef::Bool(_) => Cell::Refused("is a true/false cell"),
        DataRef::DateTime(_) | DataRef::DateTimeIso(_) | DataRef::DurationIso(_) => {
            Cell::Refused("is a date or a time, not a number")
        }
        DataRef::Error(_) => Cell::Refused("is an error cell (#VALUE!, #REF!, ...)"),
    }
}

/// The rows of the workbook's first worksheet (row 1 is the spreadsheet's row 1).
pub fn rows(bytes: &[u8]) -> Result<Rows, AppError> {
    measure(bytes)?;
    let unreadable = |error: calamine::XlsxError| {
        file_error(format!("is not a readable .xlsx workbook: {error}"))
    };
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let Some(first) = workbook.sheet_names().into_iter().next() else {
        return Err(file_error("has no worksheet"));
    };
    let mut reader = workbook
        .worksheet_cells_reader(&first)
        .map_err(unreadable)?;
    let mut rows: BTreeMap<u32, Vec<Cell>> = BTreeMap::new();
    while let Some(cell) = reader.next_cell_with_formula().map_err(unreadable)? {
        let (row, column) = cell.pos;
        if row >= MAX_SHEET_ROWS {
            return Err(file_error(format!(
                "has cells beyond row {MAX_SHEET_ROWS} (a batch has at most {} lines)",
                ledger_core::contribution::MAX_BATCH_LINES
            )));
        }
        if column >= MAX_SHEET_COLUMNS {
            continue;
        }
        let cells = rows.entry(row + 1).or_default();
        let column = column as usize;
        if cells.len() <= column {
            cells.resize(column + 1, Cell::Empty);
        }
        cells[column] = cell_of(cell.value, cell.formula);
    }
    Ok(Rows {
        rows: rows.into_iter().collect(),
        decimal_separator: None,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_zip_bomb_is_refused_before_it_is_inflated() {
        // Proves an archive whose member inflates past the budget (here 65 MiB of zeros, about
        // 64 KiB compressed) is refused by its measure, naming the file, before calamine reads it.
        let mut archive = zip::ZipWriter::new(Cursor::new(Vec::new()));
        archive
            .start_file(
                "xl/sharedStrings.xml",
                zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated),
            )
            .unwrap();
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..65 {
            archive.write_all(&zeros).unwrap();
        }
        let bytes = archive.finish().unwrap().into_inner();
        assert!(bytes.len() < 1024 * 1024, "{}", bytes.len());
        let refused = rows(&bytes).unwrap_err();
        assert_eq!(refused.errors[0].field, "file");
        assert!(
            refused.errors[0].message.contains("inflates to more than"),
            "{refused:?}"
        );
        let refused = rows(b"PK\x03\x04 not really a zip").unwrap_err();
        assert!(
            refused.errors[0]
                .message
                .contains("is not an .xlsx workbook")
        );
    }
}
