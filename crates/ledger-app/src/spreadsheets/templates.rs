//! The sheet a treasurer fills: per programme, as `.csv` or `.xlsx`, in English, French or
//! Spanish. What it writes is what [`super::read_sheet`] reads: the headers and kinds of the
//! language, and for CSV the separator of that language's spreadsheets (`;` with a decimal comma
//! in French and Spanish, `,` in English), in UTF-8 with a BOM (which Excel needs to read accents
//! in a CSV file).

use ledger_core::organisation::Programme;
use ledger_core::spreadsheet::neutralised_cell;
use rust_xlsxwriter::{DataValidation, Format, Workbook, XlsxError};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::SheetFormat;
use super::cells::{Column, Language, kind_name};
use crate::error::{AppError, FieldError};
use crate::fields::parse_id;
use crate::policy::Operation;
use crate::runner::Query;
use crate::{App, Caller};

/// The template's format and language.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateQuery {
    /// `csv` or `xlsx` (`csv` by default).
    pub format: Option<String>,
    /// `en`, `fr` or `es` (`en` by default).
    pub language: Option<String>,
}

/// A template file.
#[derive(Debug, Clone, ToSchema)]
pub struct TemplateFile {
    /// `solidarity-euro-2026-fr.csv`
    pub file_name: String,
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

/// The batch template of a programme (any signed-in role; a contributor fills it).
#[derive(Debug)]
pub struct BatchTemplate {
    /// The programme's id as given in the path.
    pub programme: String,
    pub query: TemplateQuery,
}

impl Query for BatchTemplate {
    const OPERATION: Operation = Operation::DownloadBatchTemplate;
    type Output = TemplateFile;

    async fn read(self, app: &App, _caller: &Caller) -> Result<TemplateFile, AppError> {
        let not_found = || AppError::not_found("no such programme");
        let mut errors = Vec::new();
        let format = match self.query.format.as_deref() {
            None | Some("csv") => Some(SheetFormat::Csv),
            Some("xlsx") => Some(SheetFormat::Xlsx),
            Some(_) => {
                errors.push(FieldError::new("format", "is csv or xlsx"));
                None
            }
        };
        let language = match self.query.language.as_deref() {
            None => Some(Language::English),
            Some(code) => Language::parse(code).or_else(|| {
                errors.push(FieldError::new("language", "is en, fr or es"));
                None
            }),
        };
        let (Some(format), Some(language), true) = (format, language, errors.is_empty()) else {
            return Err(AppError::validation(errors));
        };
        let id = parse_id(&self.programme).ok_or_else(not_found)?;
        let programme = app.store.programme(id).await?.ok_or_else(not_found)?;
        template(&programme, format, language)
    }
}

/// The template of `programme` in `format` and `language`.
pub fn template(
    programme: &Programme,
    format: SheetFormat,
    language: Language,
) -> Result<TemplateFile, AppError> {
    let stem: String = programme
        .name
        .chars()
        .map(|letter| {
            if letter.is_ascii_alphanumeric() {
                letter.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let stem = if stem.is_empty() {
        "batch".to_owned()
    } else {
        stem
    };
    match format {
        SheetFormat::Csv => Ok(TemplateFile {
            file_name: format!("{stem}-{}.csv", language.code()),
            media_type: super::CSV_MEDIA_TYPE,
            bytes: csv_template(language),
        }),
        SheetFormat::Xlsx => Ok(TemplateFile {
            file_name: format!("{stem}-{}.xlsx", language.code()),
            media_type: super::XLSX_MEDIA_TYPE,
            bytes: xlsx_template(programme, language).map_err(AppError::internal)?,
        }),
    }
}

/// The header row, with the language's separator, in UTF-8 with a BOM.
fn csv_template(language: Language) -> Vec<u8> {
    let separator = if language == Language::English {
        ","
    } else {
        ";"
    };
    let header = Column::ALL
        .iter()
        .map(|column| neutralised_cell(column.header(language)).into_owned())
        .collect::<Vec<_>>()
        .join(separator);
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(b"\r\n");
    bytes
}

/// Sentences of the instructions sheet, per language.
struct Words {
    sheet: &'static str,
    instructions: &'static str,
    programme: &'static str,
    rate: &'static str,
    period: &'static str,
    rule: &'static str,
    upload: &'static str,
}

fn words(language: Language) -> Words {
    match language {
        Language::English => Words {
            sheet: "Batch",
            instructions: "Instructions",
            programme: "Programme",
            rate: "Rate per member",
            period: "Period",
            rule: "A solidarity line's amount is its members times the rate; a donation line has 0 members. No formulas: type the values.",
            upload: "Send this sheet with POST /v1/contribution-batches?programme_id=…&period=…",
        },
        Language::French => Words {
            sheet: "Lot",
            instructions: "Mode d'emploi",
            programme: "Programme",
            rate: "Montant par membre",
            period: "Période",
            rule: "Le montant d'une ligne de solidarité est le nombre de membres fois le montant par membre ; une ligne de don a 0 membre. Pas de formules : saisissez les valeurs.",
            upload: "Envoyez cette feuille par POST /v1/contribution-batches?programme_id=…&period=…",
        },
        Language::Spanish => Words {
            sheet: "Lote",
            instructions: "Instrucciones",
            programme: "Programa",
            rate: "Importe por miembro",
            period: "Período",
            rule: "El importe de una línea de solidaridad es el número de miembros por el importe por miembro; una línea de donación tiene 0 miembros. Sin fórmulas: escriba los valores.",
            upload: "Envíe esta hoja con POST /v1/contribution-batches?programme_id=…&period=…",
        },
    }
}

/// A workbook: the batch sheet (bold headers, number formats, a list of the two kinds) and an
/// instructions sheet naming the programme, its rate and period.
fn xlsx_template(programme: &Programme, language: Language) -> Result<Vec<u8>, XlsxError> {
    let words = words(language);
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name(words.sheet)?;
    for (index, column) in Column::ALL.iter().enumerate() {
        let index = u16::try_from(index).unwrap_or_default();
        sheet.write_string_with_format(0, index, column.header(language), &bold)?;
        sheet.set_column_width(index, 22)?;
    }
    sheet.set_column_format(1, &Format::new().set_num_format("0"))?;
    sheet.set_column_format(2, &Format::new().set_num_format("0.00"))?;
    let kinds = [
        kind_name("solidarity", language),
        kind_name("donation", language),
    ];
    let validation = DataValidation::new().allow_list_strings(&kinds)?;
    let last_row = u32::try_from(ledger_core::contribution::MAX_BATCH_LINES).unwrap_or(u32::MAX);
    sheet.add_data_validation(1, 3, last_row, 3, &validation)?;
    sheet.set_freeze_panes(1, 0)?;
    let notes = workbook.add_worksheet();
    notes.set_name(words.instructions)?;
    notes.set_column_width(0, 24)?;
    notes.set_column_width(1, 60)?;
    let rows = [
        (words.programme, programme.name.clone()),
        (
            words.rate,
            format!(
                "{} {}",
                programme.rate_per_member.to_decimal_string(),
                programme.currency.code()
            ),
        ),
        (words.period, programme.period.as_str().to_owned()),
        ("programme_id", programme.id.to_string()),
        ("", words.rule.to_owned()),
        ("", words.upload.to_owned()),
    ];
    for (row, (label, value)) in (0u32..).zip(rows) {
        notes.write_string_with_format(row, 0, label, &bold)?;
        notes.write_string(row, 1, value)?;
    }
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::PeriodKind;
    use ledger_core::organisation::AllocationPolicy;
    use ledger_core::{Amount, Currency};

    fn programme() -> Programme {
        Programme {
            id: uuid::Uuid::nil(),
            name: "Solidarité 2026".to_owned(),
            currency: Currency::eur(),
            rate_per_member: Amount::from_minor(100, Currency::eur()).unwrap(),
            period: PeriodKind::Month,
            allocation: AllocationPolicy::ProRataCoveredMembers,
            conditions: Vec::new(),
            minimum_transfer: Amount::from_minor(10_000, Currency::eur()).unwrap(),
            admin_cost_cap_percent: rust_decimal::Decimal::from(15),
        }
    }

    #[test]
    fn every_template_reads_back_as_an_empty_batch_with_its_headers() {
        // Proves each template (both formats, three languages) is read by the batch reader: its
        // headers are recognised, in the language, and it holds no line yet; filled with one line
        // per kind in its language, it reads back as those lines.
        for language in super::super::LANGUAGES {
            for format in [SheetFormat::Csv, SheetFormat::Xlsx] {
                let file = template(&programme(), format, language).unwrap();
                assert!(
                    file.file_name.starts_with("solidarit-2026-"),
                    "{}",
                    file.file_name
                );
                // No line yet: the header is read, the batch is empty.
                let empty = super::super::read_sheet(format, &file.bytes).unwrap();
                assert!(empty.lines.is_empty());
                assert_eq!(
                    empty.headers[0].as_deref(),
                    Some(Column::Reference.header(language))
                );
                let rows = match format {
                    SheetFormat::Csv => super::super::csv_sheet::rows(&file.bytes).unwrap(),
                    SheetFormat::Xlsx => super::super::xlsx_sheet::rows(&file.bytes).unwrap(),
                };
                let mut rows = rows;
                let separator = rows.decimal_separator;
                rows.rows.push((
                    2,
                    vec![
                        super::super::cells::Cell::Text("Section".into()),
                        super::super::cells::Cell::Text("12".into()),
                        super::super::cells::Cell::Text(if separator == Some(',') {
                            "12,00".into()
                        } else {
                            "12.00".into()
                        }),
                        super::super::cells::Cell::Text(kind_name("donation", language).into()),
                    ],
                ));
                let batch = super::super::cells::batch_of_rows(rows).unwrap();
                assert_eq!(
                    batch.headers[2].as_deref(),
                    Some(Column::Amount.header(language))
                );
                assert_eq!(batch.lines[0].kind, "donation");
                assert_eq!(batch.lines[0].amount, "12.00");
            }
        }
    }
}
