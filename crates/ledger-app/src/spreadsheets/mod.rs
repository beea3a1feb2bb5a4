//! Contribution batches from spreadsheets: a treasurer's CSV export or `.xlsx` file read into the
//! very batch a JSON client would send, so the batch then runs THE SAME command
//! ([`crate::contributions::SubmitBatch`]) with the same rules, limits and idempotency.
//!
//! Reading is pure (bytes in, a batch document or every bad cell out; no I/O, no clock):
//! - [`csv_sheet`]: UTF-8 (with or without BOM) or Windows-1252 text, `,` or `;` separated;
//! - [`xlsx_sheet`]: the first worksheet of an `.xlsx`, measured before it is inflated (zip bombs)
//!   and read cell by cell (a far-away cell cannot make it allocate a huge grid); formulas refused;
//! - [`cells`]: what a cell means: headers in English, French or Spanish, decimal comma or point,
//!   thousands separators, line kinds;
//! - [`templates`]: the empty sheet to fill, per programme, in `.csv` and `.xlsx`, in each language.
//!
//! A problem with the file is reported at once for every cell, as `row 7, column "montant"` (the
//! row as the spreadsheet numbers it, the column as its header is written); the batch's own rules
//! (amount = members × rate, limits) are the command's, and [`SheetBatch::field_of`] renames
//! their `lines[5].amount` to the row and column they came from.

pub mod cells;
pub mod csv_sheet;
pub mod templates;
pub mod xlsx_sheet;

use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::error::{AppError, FieldError};
use cells::{Column, Language};

/// The largest spreadsheet accepted, in bytes: a 100,000-line batch is about 4 MiB of CSV (and
/// less as `.xlsx`), so 8 MiB leaves room while keeping one upload's memory small. The HTTP door
/// checks at compile time that it fits in its request body limit.
pub const MAX_SPREADSHEET_BYTES: usize = 8 * 1024 * 1024;

/// The most rows a sheet may use: a batch's lines (`MAX_BATCH_LINES`), its header, and room for
/// blank rows and a title above the header.
pub const MAX_SHEET_ROWS: u32 = 101_000;

/// The columns read: the four of a batch and a few more a treasurer keeps beside them (notes).
/// Cells further right are not read at all.
pub const MAX_SHEET_COLUMNS: u32 = 32;

/// The most bad cells listed in one answer: a file with more has one mistake repeated (a wrong
/// column, a wrong separator), which the first ones show; the last entry says how many more.
pub const MAX_CELL_ERRORS: usize = 200;

const _: () = assert!(MAX_SHEET_ROWS as usize > ledger_core::contribution::MAX_BATCH_LINES + 1);

/// The media type of a CSV upload.
pub const CSV_MEDIA_TYPE: &str = "text/csv";
/// The media type of an `.xlsx` upload.
pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The batch's fields that a spreadsheet does not hold: query parameters of the upload.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SheetBatchQuery {
    /// The programme (as `programme_id` of the JSON batch).
    pub programme_id: String,
    /// The period, as in the JSON batch (`2026-11`, `2026-Q4`, `2026`).
    pub period: String,
    /// Restrict the money to one beneficiary (as in the JSON batch).
    pub earmark_beneficiary_id: Option<String>,
}

/// One line as read from a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SheetLine {
    pub reference: String,
    pub members: i64,
    /// A decimal string with a point (`1200.00`), as the JSON batch carries it.
    pub amount: String,
    /// `solidarity` or `donation`.
    pub kind: &'static str,
}

/// A sheet read into batch lines, with where each came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetBatch {
    pub lines: Vec<SheetLine>,
    /// The spreadsheet row (1-based) of each line.
    pub rows: Vec<u32>,
    /// Each column's header as the file writes it (`montant`), `None` for an absent kind column.
    pub headers: [Option<String>; 4],
}

/// The JSON batch a sheet stands for, as `POST /v1/contribution-batches` takes it.
#[derive(Debug, Serialize)]
struct BatchDocument<'a> {
    programme_id: &'a str,
    period: &'a str,
    lines: &'a [SheetLine],
    #[serde(skip_serializing_if = "Option::is_none")]
    earmark_beneficiary_id: Option<&'a str>,
}

impl SheetBatch {
    /// The JSON batch this sheet and these parameters stand for: the body a JSON client would
    /// send (an absent earmark is absent, not `null`, so the same batch sent as JSON under the
    /// same key is the same request).
    pub fn json_batch(&self, query: &SheetBatchQuery) -> Result<Vec<u8>, AppError> {
        serde_json::to_vec(&BatchDocument {
            programme_id: &query.programme_id,
            period: &query.period,
            lines: &self.lines,
            earmark_beneficiary_id: query.earmark_beneficiary_id.as_deref(),
        })
        .map_err(AppError::internal)
    }

    /// The command's field (`lines[5].amount`) as the spreadsheet names it (`row 7, column
    /// "montant"`); other fields (the query parameters, `lines`) as they are.
    pub fn field_of(&self, field: &str) -> String {
        let Some((index, name)) = field
            .strip_prefix("lines[")
            .and_then(|rest| rest.split_once("]."))
        else {
            return field.to_owned();
        };
        let Some(row) = index
            .parse::<usize>()
            .ok()
            .and_then(|index| self.rows.get(index))
        else {
            return field.to_owned();
        };
        let header = Column::ALL
            .iter()
            .position(|column| column.field() == name)
            .and_then(|position| self.headers[position].as_deref());
        match header {
            Some(header) => cells::cell_name(*row, header),
            None => format!("row {row}"),
        }
    }

    /// The command's refusal with its fields renamed to rows and columns (a validation refusal;
    /// any other is answered as it is).
    pub fn renamed(&self, mut error: AppError) -> AppError {
        if error.refusal != crate::error::Refusal::Invalid || error.errors.is_empty() {
            return error;
        }
        for field_error in &mut error.errors {
            field_error.field = self.field_of(&field_error.field);
        }
        AppError::validation(error.errors)
    }
}

/// A spreadsheet's format, from its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    Csv,
    Xlsx,
}

impl SheetFormat {
    /// The format of a `Content-Type` (parameters such as `charset` ignored), if it is one.
    pub fn of_media_type(content_type: &str) -> Option<SheetFormat> {
        let media_type = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match media_type.as_str() {
            CSV_MEDIA_TYPE => Some(SheetFormat::Csv),
            XLSX_MEDIA_TYPE => Some(SheetFormat::Xlsx),
            _ => None,
        }
    }
}

/// Reads a spreadsheet into batch lines, or answers every bad cell, a file too large or one that
/// is no spreadsheet of its kind (422 `validation_failed`, naming the cells or `file`).
pub fn read_sheet(format: SheetFormat, bytes: &[u8]) -> Result<SheetBatch, AppError> {
    if bytes.len() > MAX_SPREADSHEET_BYTES {
        return Err(file_error(format!(
            "a spreadsheet may have at most {MAX_SPREADSHEET_BYTES} bytes"
        )));
    }
    let rows = match format {
        SheetFormat::Csv => csv_sheet::rows(bytes)?,
        SheetFormat::Xlsx => xlsx_sheet::rows(bytes)?,
    };
    cells::batch_of_rows(rows)
}

/// A problem with the file as a whole (not one cell).
pub(crate) fn file_error(message: impl Into<String>) -> AppError {
    AppError::validation(vec![FieldError::new("file", message)])
}

/// The languages templates are offered in.
pub const LANGUAGES: [Language; 3] = [Language::English, Language::French, Language::Spanish];
