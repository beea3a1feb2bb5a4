//! What a spreadsheet's cells mean: which column is which (headers in English, French or
//! Spanish), numbers as people and spreadsheets write them (decimal comma or point, thousands
//! separators), line kinds, and cells that are formulas.

use crate::error::{AppError, FieldError};

use super::{MAX_CELL_ERRORS, SheetBatch, SheetLine};

/// A cell as a reader found it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cell {
    #[default]
    Empty,
    /// Text as typed (CSV cells, text cells of an `.xlsx`).
    Text(String),
    /// A number an `.xlsx` stores as a number, written with a decimal point (`1200.5`).
    Number(String),
    /// A cell that cannot hold a batch's value, and why (a formula, an error, a date).
    Refused(&'static str),
}

/// The rows of a sheet: the spreadsheet's row number (1-based) and its cells from column A.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub rows: Vec<(u32, Vec<Cell>)>,
    /// The decimal separator of text numbers, when the file says it: a `;`-separated CSV (French
    /// or Spanish Excel) writes a decimal comma, a `,`-separated one a decimal point. Without it
    /// (`.xlsx` text cells), a lone separator followed by exactly three digits groups thousands.
    pub decimal_separator: Option<char>,
}

/// A language of headers, kinds and templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    French,
    Spanish,
}

impl Language {
    /// `en`, `fr` or `es`.
    pub fn parse(code: &str) -> Option<Language> {
        match code {
            "en" => Some(Language::English),
            "fr" => Some(Language::French),
            "es" => Some(Language::Spanish),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::French => "fr",
            Language::Spanish => "es",
        }
    }

    fn index(self) -> usize {
        match self {
            Language::English => 0,
            Language::French => 1,
            Language::Spanish => 2,
        }
    }
}

/// A column of a batch sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Reference,
    Members,
    Amount,
    Kind,
}

impl Column {
    /// In the order of [`SheetBatch::headers`].
    pub const ALL: [Column; 4] = [
        Column::Reference,
        Column::Members,
        Column::Amount,
        Column::Kind,
    ];

    /// The JSON batch's field for this column.
    pub fn field(self) -> &'static str {
        match self {
            Column::Reference => "reference",
            Column::Members => "members",
            Column::Amount => "amount",
            Column::Kind => "kind",
        }
    }

    /// The header templates write, per language (English, French, Spanish).
    pub fn header(self, language: Language) -> &'static str {
        let names = match self {
            Column::Reference => ["reference", "référence", "referencia"],
            Column::Members => ["members", "membres", "miembros"],
            Column::Amount => ["amount", "montant", "importe"],
            Column::Kind => ["kind", "type", "tipo"],
        };
        names[language.index()]
    }

    /// Every header read as this column, without accents and in lower case.
    fn accepted(self) -> &'static [&'static str] {
        match self {
            Column::Reference => &["reference", "section", "referencia", "seccion"],
            Column::Members => &["members", "membres", "adherents", "miembros", "afiliados"],
            Column::Amount => &["amount", "montant", "importe", "monto"],
            Column::Kind => &["kind", "type", "nature", "tipo"],
        }
    }
}

/// The line kinds, per language (templates write them; reading accepts each).
pub fn kind_name(kind: &str, language: Language) -> &'static str {
    let names = if kind == "donation" {
        ["donation", "don", "donación"]
    } else {
        ["solidarity", "solidarité", "solidaridad"]
    };
    names[language.index()]
}

/// `row 7, column "montant"`: how errors name a cell.
pub fn cell_name(row: u32, header: &str) -> String {
    format!("row {row}, column \"{header}\"")
}

/// Lower case without the accents of French and Spanish, trimmed: how headers and kinds compare.
fn folded(text: &str) -> String {
    text.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .map(|letter| match letter {
            'à' | 'á' | 'â' | 'ä' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            other => other,
        })
        .collect()
}

/// The kind a cell names: `solidarity` or `donation` in any of the three languages (an empty
/// cell is a solidarity line).
fn kind_of(text: &str) -> Option<&'static str> {
    match folded(text).as_str() {
        "" | "solidarity" | "solidarite" | "solidaridad" => Some("solidarity"),
        "donation" | "don" | "donacion" | "donativo" => Some("donation"),
        _ => None,
    }
}

/// Spaces people and spreadsheets put inside numbers: space, no-break space, narrow no-break
/// space, thin space.
fn is_number_space(letter: char) -> bool {
    matches!(letter, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}')
}

/// A number as people write it (`1 200,50`, `1.200,50`, `1,200.50`, `1200.5`, `-3`, `12 €`)
/// as a decimal string with a point (`1200.50`); `decimal_separator` is the file's, when known.
pub fn decimal_text(text: &str, decimal_separator: Option<char>) -> Result<String, &'static str> {
    const NOT_A_NUMBER: &str = "is not a number";
    let compact: String = text
        .trim()
        .trim_end_matches('€')
        .chars()
        .filter(|letter| !is_number_space(*letter))
        .collect();
    let (sign, unsigned) = match compact.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", compact.strip_prefix('+').unwrap_or(&compact)),
    };
    if unsigned.is_empty() {
        return Err(if compact.is_empty() {
            "is empty"
        } else {
            NOT_A_NUMBER
        });
    }
    if !unsigned
        .chars()
        .all(|letter| letter.is_ascii_digit() || letter == ',' || letter == '.')
    {
        return Err(NOT_A_NUMBER);
    }
    let commas = unsigned.matches(',').count();
    let points = unsigned.matches('.').count();
    let decimal = match (decimal_separator, commas, points) {
        (_, 0, 0) => None,
        (Some(separator), _, _) => {
            Some(separator).filter(|separator| unsigned.contains(*separator))
        }
        // Both: the last one is the decimal separator.
        (None, _, _) if commas > 0 && points > 0 => unsigned
            .rfind([',', '.'])
            .and_then(|at| unsigned[at..].chars().next()),
        (None, 1, 0) | (None, 0, 1) => {
            let separator = if commas == 1 { ',' } else { '.' };
            let after = unsigned.rsplit(separator).next().unwrap_or_default();
            // `1,200` or `1.200` groups thousands; `1,20` or `1.5` has decimals.
            (after.len() != 3).then_some(separator)
        }
        // The same separator twice or more groups thousands.
        (None, _, _) => None,
    };
    let (whole, fraction) = match decimal {
        Some(separator) => {
            let at = unsigned.rfind(separator).unwrap_or(unsigned.len());
            (&unsigned[..at], Some(&unsigned[at + 1..]))
        }
        None => (unsigned, None),
    };
    if fraction.is_some_and(|fraction| {
        fraction.is_empty() || !fraction.bytes().all(|byte| byte.is_ascii_digit())
    }) {
        return Err(NOT_A_NUMBER);
    }
    // Thousands: groups of three digits after a first group of one to three.
    let groups: Vec<&str> = whole.split([',', '.']).collect();
    let grouped = groups.len() > 1;
    let well_grouped = groups.iter().enumerate().all(|(index, group)| match index {
        0 if grouped => (1..=3).contains(&group.len()),
        0 => !group.is_empty(),
        _ => group.len() == 3,
    });
    if !well_grouped || (grouped && whole.contains(',') && whole.contains('.')) {
        return Err(NOT_A_NUMBER);
    }
    let mut out = String::with_capacity(unsigned.len() + 1);
    out.push_str(sign);
    out.extend(groups);
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    Ok(out)
}

/// A whole number of members (`1 200`, `1.200` in a decimal-comma file, `1200.0` from a number
/// cell).
fn members_of(cell: &Cell, decimal_separator: Option<char>) -> Result<i64, &'static str> {
    let text = match cell {
        Cell::Empty => return Err("is empty"),
        Cell::Refused(why) => return Err(why),
        Cell::Text(text) => decimal_text(text, decimal_separator)?,
        Cell::Number(text) => text.clone(),
    };
    let whole = match text.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|byte| byte == b'0') => whole,
        Some(_) => return Err("must be a whole number"),
        None => text.as_str(),
    };
    whole.parse::<i64>().map_err(|_| "is too large")
}

fn amount_of(cell: &Cell, decimal_separator: Option<char>) -> Result<String, &'static str> {
    match cell {
        Cell::Empty => Err("is empty"),
        Cell::Refused(why) => Err(why),
        Cell::Text(text) => decimal_text(text, decimal_separator),
        Cell::Number(text) => Ok(text.clone()),
    }
}

/// The text of a cell for the line's reference and kind; a number cell as its digits.
fn text_of(cell: &Cell) -> Result<&str, &'static str> {
    match cell {
        Cell::Empty => Ok(""),
        Cell::Refused(why) => Err(why),
        Cell::Text(text) | Cell::Number(text) => Ok(text),
    }
}

/// Why a text cell would be a formula in a spreadsheet (a reference starting with `=`, `+`, `-`,
/// `@`): refused, so the ledger never stores what would run when written back to a sheet.
const FORMULA: &str = "starts like a formula (=, +, -, @): type the value itself";

/// Reads rows into batch lines: the first non-empty row is the header; every later row that is not
/// empty is a line. Every bad cell is reported (up to [`MAX_CELL_ERRORS`]).
pub fn batch_of_rows(sheet: Rows) -> Result<SheetBatch, AppError> {
    let decimal_separator = sheet.decimal_separator;
    let mut rows = sheet
        .rows
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|cell| !is_blank(cell)));
    let Some((header_row, header_cells)) = rows.next() else {
        return Err(super::file_error(
            "has no header row: the first row names the columns (see the templates)",
        ));
    };
    let mut errors = Vec::new();
    let mut positions: [Option<usize>; 4] = [None; 4];
    let mut headers: [Option<String>; 4] = Default::default();
    for (position, cell) in header_cells.iter().enumerate() {
        let Ok(text) = text_of(cell) else { continue };
        let name = folded(text);
        let Some(column) = Column::ALL
            .iter()
            .position(|column| column.accepted().contains(&name.as_str()))
        else {
            continue;
        };
        if positions[column].is_some() {
            errors.push(FieldError::new(
                cell_name(header_row, text.trim()),
                "names a column given earlier",
            ));
            continue;
        }
        positions[column] = Some(position);
        headers[column] = Some(text.trim().to_owned());
    }
    for column in [Column::Reference, Column::Members, Column::Amount] {
        if positions[column as usize].is_none() {
            errors.push(FieldError::new(
                format!("row {header_row}"),
                format!(
                    "no column \"{}\" (or \"{}\", \"{}\")",
                    column.header(Language::English),
                    column.header(Language::French),
                    column.header(Language::Spanish)
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let mut lines = Vec::new();
    let mut line_rows = Vec::new();
    let mut bad_cells = 0usize;
    let mut bad = |errors: &mut Vec<FieldError>, row: u32, column: Column, message: &str| {
        bad_cells += 1;
        if errors.len() < MAX_CELL_ERRORS {
            let header = headers[column as usize].as_deref().unwrap_or_default();
            errors.push(FieldError::new(cell_name(row, header), message));
        }
    };
    for (row, cells) in rows {
        let cell = |column: Column| {
            positions[column as usize]
                .and_then(|position| cells.get(position))
                .cloned()
                .unwrap_or_default()
        };
        let reference = match text_of(&cell(Column::Reference)) {
            Ok(text) if text.trim().starts_with(['=', '+', '-', '@']) => {
                bad(&mut errors, row, Column::Reference, FORMULA);
                String::new()
            }
            Ok(text) => text.trim().to_owned(),
            Err(why) => {
                bad(&mut errors, row, Column::Reference, why);
                String::new()
            }
        };
        let members = members_of(&cell(Column::Members), decimal_separator).unwrap_or_else(|why| {
            bad(&mut errors, row, Column::Members, why);
            0
        });
        let amount = amount_of(&cell(Column::Amount), decimal_separator).unwrap_or_else(|why| {
            bad(&mut errors, row, Column::Amount, why);
            String::new()
        });
        let kind = match text_of(&cell(Column::Kind)).map(kind_of) {
            Ok(Some(kind)) => kind,
            Ok(None) => {
                bad(
                    &mut errors,
                    row,
                    Column::Kind,
                    "is neither solidarity nor donation (solidarité, don, solidaridad, donación)",
                );
                "solidarity"
            }
            Err(why) => {
                bad(&mut errors, row, Column::Kind, why);
                "solidarity"
            }
        };
        if lines.len() <= ledger_core::contribution::MAX_BATCH_LINES {
            lines.push(SheetLine {
                reference,
                members,
                amount,
                kind,
            });
            line_rows.push(row);
        }
    }
    if bad_cells > errors.len() {
        errors.push(FieldError::new(
            "file",
            format!("{} more bad cells are not listed", bad_cells - errors.len()),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    Ok(SheetBatch {
        lines,
        rows: line_rows,
        headers,
    })
}

/// An empty cell, or one holding only spaces (what a spreadsheet leaves in cleared cells).
fn is_blank(cell: &Cell) -> bool {
    match cell {
        Cell::Empty => true,
        Cell::Text(text) => text.trim().is_empty(),
        Cell::Number(_) | Cell::Refused(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_as_people_write_them() {
        // Proves decimal commas and points, thousands separators (space, no-break space, point,
        // comma, apostrophe-free), signs and a trailing euro sign are read to one decimal form,
        // that the file's decimal separator decides `1.200` and `1,200`, and that malformed
        // groupings are refused rather than guessed.
        let cases: [(&str, Option<char>, &str); 16] = [
            ("1200", Some(','), "1200"),
            ("1 200,50", Some(','), "1200.50"),
            ("1\u{a0}200,50 €", Some(','), "1200.50"),
            ("1\u{202f}200,5", Some(','), "1200.5"),
            ("1.200,50", Some(','), "1200.50"),
            ("1.200", Some(','), "1200"),
            ("1,200", Some('.'), "1200"),
            ("1,200.50", Some('.'), "1200.50"),
            ("12.5", Some('.'), "12.5"),
            ("-3,00", Some(','), "-3.00"),
            ("+3", None, "3"),
            ("1,200", None, "1200"),
            ("1.200", None, "1200"),
            ("1,20", None, "1.20"),
            ("1.234.567,89", None, "1234567.89"),
            ("1,234,567.89", None, "1234567.89"),
        ];
        for (text, separator, expected) in cases {
            assert_eq!(
                decimal_text(text, separator),
                Ok(expected.to_owned()),
                "{text}"
            );
        }
        for bad in [
            "",
            "abc",
            "1,2,3",
            "12,34.56,7",
            "1.2.3,4",
            "1 2a",
            ",5",
            "5,",
            "--1",
            "1e3",
            "=1+1",
        ] {
            assert!(decimal_text(bad, Some(',')).is_err(), "{bad}");
        }
        assert!(decimal_text("1,200", Some(',')).is_ok_and(|text| text == "1.200"));
    }

    fn text(value: &str) -> Cell {
        Cell::Text(value.to_owned())
    }

    #[test]
    fn headers_in_three_languages_and_every_bad_cell_at_once() {
        // Proves French and Spanish headers (any case, accents or not) are recognised, blank rows
        // skipped, lines keep their spreadsheet row, and every bad cell is named by row and by
        // its header as written, in one answer.
        let rows = |header: [&str; 4], lines: Vec<Vec<Cell>>| Rows {
            rows: std::iter::once((1, header.iter().map(|name| text(name)).collect()))
                .chain(
                    lines
                        .into_iter()
                        .enumerate()
                        .map(|(index, cells)| (index as u32 + 2, cells)),
                )
                .collect(),
            decimal_separator: Some(','),
        };
        let french = batch_of_rows(rows(
            ["Référence", "MEMBRES", "montant", "Type"],
            vec![
                vec![
                    text("Lyon"),
                    text("1 200"),
                    text("1 200,00"),
                    text("solidarité"),
                ],
                vec![text(" "), Cell::Empty],
                vec![text("Kermesse"), text("0"), text("50,5"), text("Don")],
            ],
        ))
        .unwrap();
        assert_eq!(french.rows, [2, 4]);
        assert_eq!(
            french.lines[1],
            SheetLine {
                reference: "Kermesse".into(),
                members: 0,
                amount: "50.5".into(),
                kind: "donation"
            }
        );
        assert_eq!(
            french.field_of("lines[1].amount"),
            "row 4, column \"montant\""
        );
        assert_eq!(french.field_of("period"), "period");

        let spanish = batch_of_rows(rows(
            ["referencia", "miembros", "importe", "tipo"],
            vec![vec![
                text("Madrid"),
                Cell::Number("7".into()),
                Cell::Number("7".into()),
                text("solidaridad"),
            ]],
        ))
        .unwrap();
        assert_eq!(spanish.lines[0].members, 7);

        let refused = batch_of_rows(rows(
            ["référence", "membres", "montant", "type"],
            vec![
                vec![
                    text("=HYPERLINK(\"x\")"),
                    text("douze"),
                    text("12"),
                    text("solidarité"),
                ],
                vec![
                    text("Nantes"),
                    text("3"),
                    Cell::Refused("is a formula"),
                    text("cadeau"),
                ],
            ],
        ))
        .unwrap_err();
        let named: Vec<(&str, &str)> = refused
            .errors
            .iter()
            .map(|error| (error.field.as_str(), error.message.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                ("row 2, column \"référence\"", FORMULA),
                ("row 2, column \"membres\"", "is not a number"),
                ("row 3, column \"montant\"", "is a formula"),
                (
                    "row 3, column \"type\"",
                    "is neither solidarity nor donation (solidarité, don, solidaridad, donación)"
                ),
            ]
        );

        let missing =
            batch_of_rows(rows(["référence", "membres", "total", "type"], vec![])).unwrap_err();
        assert_eq!(missing.errors[0].field, "row 1");
        assert!(missing.errors[0].message.contains("\"montant\""));
    }
}
