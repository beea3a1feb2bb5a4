//! The general reader's second half for CSV: rows already split into fields (by the strict row
//! reader [`crate::csv_scan::read_general_row`]) are grouped into transactions, each value read
//! with its one spelling, and the rows of one transaction compared with one another.
// Long file: the CSV row grammar of both encodings (SLJ1 transactions, the SLJ2 accounts section)
// is one state machine, read best whole; its tests sit beside it.

use ledger_core::chain::{ChainHash, JournalRecord, RecordPosting};
use ledger_core::export::{
    AccountsSection, CSV_ACCOUNT_ROW, CSV_ACCOUNTS_ROW, CSV_COLUMNS, CSV_EMPTY_ROW, CSV_END_ROW,
    CSV_POSTING_ROW, ExportAccount, ExportEnd, ExportItem, canonical_hash, canonical_uuid,
    parse_csv_account_row, parse_csv_accounts_row,
};
use uuid::Uuid;

use crate::jsonl_scan::{canonical_i64, canonical_u64};
use crate::verifier::{ExportVerifier, FileProblem};

/// A transaction (or the end record) assembled from CSV rows, with what its rows got wrong, if
/// anything: to check with [`ExportVerifier::push`] first, then to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    /// The line of its first row.
    pub line: u64,
    pub item: ExportItem,
    pub rows_problem: Option<FileProblem>,
}

impl Assembled {
    /// Checks the item, then its rows.
    pub fn verify_with(&self, verifier: &mut ExportVerifier) -> Result<(), FileProblem> {
        verifier.push(self.line, &self.item)?;
        match &self.rows_problem {
            Some(problem) => Err(problem.clone()),
            None => Ok(()),
        }
    }
}

/// Groups CSV rows (already split into fields by a CSV reader) into transactions.
#[derive(Debug, Default)]
pub struct CsvAssembler {
    /// The transaction being assembled, the line of its first row and its declared posting count.
    current: Option<(JournalRecord, u64, usize)>,
    /// The transaction-level fields of the current transaction's first row, to compare later rows.
    current_fields: Vec<String>,
    header_seen: bool,
    /// A problem with the current transaction's first row, reported after its chain check.
    pending: Option<FileProblem>,
    /// The `SLJ2` accounts section read so far (from its first account row or `accounts` row on,
    /// no transaction row may follow), and the hash its `accounts` row states once read (then
    /// only the end row may follow).
    section: Option<Vec<ExportAccount>>,
    section_hash: Option<ChainHash>,
    /// The end row was read: a section row after it is data after the end.
    ended: bool,
}

/// The columns that must be the same on every row of one transaction.
const CSV_TRANSACTION_COLUMNS: std::ops::Range<usize> = 1..11;
const CSV_HASH_COLUMNS: std::ops::Range<usize> = 15..17;

impl CsvAssembler {
    pub fn new() -> CsvAssembler {
        CsvAssembler::default()
    }

    /// Takes the next row. Returns the transactions and end record completed by it, in order.
    pub fn push_row(
        &mut self,
        fields: &[&str],
        line: u64,
        after_sequence: Option<u64>,
    ) -> Result<Vec<Assembled>, FileProblem> {
        let malformed = |message: String| FileProblem::Malformed {
            line,
            after_sequence,
            message,
        };
        if fields.len() != CSV_COLUMNS.len() {
            return Err(malformed(format!(
                "{} fields, an export row has {}",
                fields.len(),
                CSV_COLUMNS.len()
            )));
        }
        if !self.header_seen {
            if fields != CSV_COLUMNS {
                return Err(malformed(format!(
                    "the header row must be {}",
                    CSV_COLUMNS.join(",")
                )));
            }
            self.header_seen = true;
            return Ok(Vec::new());
        }
        let mut completed = Vec::new();
        if self.section_hash.is_some() && fields[0] != CSV_END_ROW {
            return Err(malformed(format!(
                "a `{}` row after the `accounts` row: only the end row follows it",
                fields[0]
            )));
        }
        match fields[0] {
            CSV_END_ROW => {
                if let Some(column) = (2..16).find(|column| !fields[*column].is_empty()) {
                    return Err(malformed(format!(
                        "the end row has `{}`; only `sequence` and `hash` are filled on it",
                        CSV_COLUMNS[column]
                    )));
                }
                let last_sequence = optional(fields[1], parse_u64).map_err(&malformed)?;
                let final_hash = optional(fields[16], parse_hash).map_err(&malformed)?;
                let accounts = match (self.section.take(), self.section_hash.take()) {
                    (section, Some(hash)) => Some(AccountsSection {
                        accounts: section.unwrap_or_default(),
                        hash,
                    }),
                    (Some(_), None) => {
                        return Err(malformed(
                            "account rows without the `accounts` row that closes them".into(),
                        ));
                    }
                    (None, None) => None,
                };
                completed.extend(self.take_current());
                self.ended = true;
                let end = ExportEnd {
                    last_sequence,
                    final_hash,
                    accounts,
                };
                completed.push(Assembled {
                    line,
                    item: ExportItem::End(end),
                    rows_problem: None,
                });
            }
            CSV_ACCOUNT_ROW => {
                let account = parse_csv_account_row(fields).map_err(&malformed)?;
                if self.ended {
                    return Err(FileProblem::AfterEnd { line });
                }
                completed.extend(self.take_current());
                self.section.get_or_insert_default().push(account);
            }
            CSV_ACCOUNTS_ROW => {
                let hash = parse_csv_accounts_row(fields).map_err(&malformed)?;
                if self.ended {
                    return Err(FileProblem::AfterEnd { line });
                }
                completed.extend(self.take_current());
                self.section.get_or_insert_default();
                self.section_hash = Some(hash);
            }
            CSV_POSTING_ROW | CSV_EMPTY_ROW if self.section.is_some() => {
                return Err(malformed(format!(
                    "a `{}` row after the accounts section: the section follows the last transaction",
                    fields[0]
                )));
            }
            CSV_POSTING_ROW | CSV_EMPTY_ROW => {
                let sequence = parse_u64(fields[1]).map_err(&malformed)?;
                if fields[0] == CSV_EMPTY_ROW
                    && let Some(column) = (11..15).find(|column| !fields[*column].is_empty())
                {
                    return Err(malformed(format!(
                        "a `transaction` row (no postings) has `{}`",
                        CSV_COLUMNS[column]
                    )));
                }
                let belongs = self
                    .current
                    .as_ref()
                    .is_some_and(|(record, _, _)| record.sequence == sequence);
                if belongs {
                    self.add_to_current(fields, line, sequence)?;
                } else {
                    completed.extend(self.take_current());
                    self.start(fields, line, after_sequence)?;
                }
            }
            other => return Err(malformed(format!("unknown row type `{other}`"))),
        }
        Ok(completed)
    }

    /// The transaction still being assembled when the rows run out.
    pub fn finish(&mut self) -> Option<Assembled> {
        self.take_current()
    }

    fn take_current(&mut self) -> Option<Assembled> {
        let (record, line, declared) = self.current.take()?;
        // Reported only after the chain check of the record: a moved or changed row is named
        // by the chain at the sequence it belongs to; a count changed on every row is named here.
        let pending = self.pending.take();
        let rows_problem = pending.or_else(|| {
            (record.postings.len() != declared).then(|| FileProblem::RowsDisagree {
                line,
                sequence: record.sequence,
                what: format!(
                    "`posting_count` says {declared} postings, the file has {} rows",
                    record.postings.len()
                ),
            })
        });
        Some(Assembled {
            line,
            item: ExportItem::Record(record),
            rows_problem,
        })
    }

    fn start(
        &mut self,
        fields: &[&str],
        line: u64,
        after_sequence: Option<u64>,
    ) -> Result<(), FileProblem> {
        let parsed = (|| -> Result<(JournalRecord, usize), String> {
            let posting_count = parse_u64(fields[10])?;
            let posting_count =
                usize::try_from(posting_count).map_err(|error| error.to_string())?;
            let mut record = JournalRecord {
                sequence: parse_u64(fields[1])?,
                transaction_id: parse_uuid(fields[2])?,
                kind: fields[3].to_owned(),
                effective_date: fields[4].to_owned(),
                recorded_at: fields[5].to_owned(),
                actor_subject: fields[6].to_owned(),
                actor_organisation: fields[7].to_owned(),
                memo: fields[8].to_owned(),
                metadata: fields[9].to_owned(),
                postings: Vec::with_capacity(posting_count.min(64)),
                previous_hash: parse_hash(fields[15])?,
                hash: parse_hash(fields[16])?,
            };
            if fields[0] == CSV_POSTING_ROW {
                record.postings.push(parse_posting(fields)?);
            }
            Ok((record, posting_count))
        })();
        let (record, posting_count) = parsed.map_err(|message| FileProblem::Malformed {
            line,
            after_sequence,
            message,
        })?;
        self.current_fields.clear();
        self.current_fields.extend(
            CSV_TRANSACTION_COLUMNS
                .chain(CSV_HASH_COLUMNS)
                .map(|index| fields[index].to_owned()),
        );
        self.current = Some((record, line, posting_count));
        // The transaction before this row may still have to be checked (it is returned by the
        // same call): a problem with this first row waits for this transaction's own check.
        self.pending = self.check_index(fields, line).err();
        Ok(())
    }

    fn add_to_current(
        &mut self,
        fields: &[&str],
        line: u64,
        sequence: u64,
    ) -> Result<(), FileProblem> {
        // The row's own fields are read first: a malformed row is malformed whatever it repeats.
        let posting = if fields[0] == CSV_POSTING_ROW {
            Some(
                parse_posting(fields).map_err(|message| FileProblem::Malformed {
                    line,
                    after_sequence: sequence.checked_sub(1),
                    message,
                })?,
            )
        } else {
            None
        };
        for (column, first) in CSV_TRANSACTION_COLUMNS
            .chain(CSV_HASH_COLUMNS)
            .zip(&self.current_fields)
        {
            if fields[column] != first {
                return Err(FileProblem::RowsDisagree {
                    line,
                    sequence,
                    what: format!(
                        "`{}` differs from the transaction's first row",
                        CSV_COLUMNS[column]
                    ),
                });
            }
        }
        let Some(posting) = posting else {
            return Err(FileProblem::RowsDisagree {
                line,
                sequence,
                what: "a transaction row without postings has further rows".into(),
            });
        };
        if let Some((record, _, _)) = &mut self.current {
            record.postings.push(posting);
        }
        self.check_index(fields, line)
    }

    /// Posting rows carry their index and the transaction's count: a removed, repeated or moved
    /// row is named here, at its transaction.
    fn check_index(&self, fields: &[&str], line: u64) -> Result<(), FileProblem> {
        let Some((record, _, declared)) = &self.current else {
            return Ok(());
        };
        let expected_index = record.postings.len().checked_sub(1);
        let found_index = optional(fields[11], parse_u64).ok().flatten();
        let index_matches = match (expected_index, found_index) {
            (None, None) => true,
            (Some(expected), Some(found)) => u64::try_from(expected).ok() == Some(found),
            _ => false,
        };
        if !index_matches || record.postings.len() > *declared {
            return Err(FileProblem::RowsDisagree {
                line,
                sequence: record.sequence,
                what: format!(
                    "posting row `{}` where posting {} of {} was expected",
                    fields[11],
                    record.postings.len().saturating_sub(1),
                    declared
                ),
            });
        }
        Ok(())
    }
}

fn optional<T>(text: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    if text.is_empty() {
        Ok(None)
    } else {
        parse(text).map(Some)
    }
}

/// An unsigned integer of a CSV export: `0` or digits without a leading zero (no sign, no space),
/// at most `u64::MAX`.
fn parse_u64(text: &str) -> Result<u64, String> {
    canonical_u64(text.as_bytes()).ok_or_else(|| {
        format!(
            "`{text}` is not an unsigned integer written `0` or without a leading zero, in range"
        )
    })
}

fn parse_uuid(text: &str) -> Result<Uuid, String> {
    canonical_uuid(text.as_bytes())
        .ok_or_else(|| format!("`{text}` is not a lower-case hyphenated UUID"))
}

fn parse_hash(text: &str) -> Result<ChainHash, String> {
    canonical_hash(text.as_bytes())
        .ok_or_else(|| format!("`{text}` is not 64 lower-case hexadecimal digits"))
}

/// A posting row's own columns; its `posting_index` is read here for its spelling, and compared
/// with the posting's place by the assembler.
fn parse_posting(fields: &[&str]) -> Result<RecordPosting, String> {
    parse_u64(fields[11])?;
    let amount_text = fields[14];
    let amount_minor = canonical_i64(amount_text.as_bytes()).ok_or_else(|| {
        format!("`{amount_text}` is not a signed integer (`0`, or an optional `-` then digits without a leading zero), in range")
    })?;
    Ok(RecordPosting {
        account_id: parse_uuid(fields[12])?,
        currency: fields[13].to_owned(),
        amount_minor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_journal::chain_of;
    use crate::verifier::{ExportSummary, HeadMismatch};
    use ledger_core::GENESIS_HASH;
    use ledger_core::export::{ExportFormat, ExportWriter, parse_jsonl_line};

    fn render(format: ExportFormat, records: &[JournalRecord]) -> Vec<u8> {
        let mut writer = ExportWriter::new(format);
        let mut buffer = Vec::new();
        writer.write_start(&mut buffer);
        for record in records {
            writer.write_record(record, &mut buffer);
        }
        writer.write_end(&mut buffer);
        buffer
    }

    /// A minimal reader for the tests: lines for JSONL; for CSV, rows without embedded line breaks.
    fn verify_bytes(format: ExportFormat, bytes: &[u8]) -> Result<ExportSummary, FileProblem> {
        verify_bytes_with(ExportVerifier::new(), format, bytes)
    }

    fn verify_bytes_with(
        mut verifier: ExportVerifier,
        format: ExportFormat,
        bytes: &[u8],
    ) -> Result<ExportSummary, FileProblem> {
        let mut assembler = CsvAssembler::new();
        let text = std::str::from_utf8(bytes).unwrap();
        let ends_cleanly = text.ends_with('\n');
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            let number = index as u64 + 1;
            if index + 1 == lines.len() && !ends_cleanly {
                return Err(FileProblem::Truncated {
                    after_sequence: verifier.last_sequence(),
                });
            }
            let items = match format {
                ExportFormat::Jsonl => vec![Assembled {
                    line: number,
                    item: parse_jsonl_line(line.as_bytes()).map_err(|message| {
                        FileProblem::Malformed {
                            line: number,
                            after_sequence: verifier.last_sequence(),
                            message,
                        }
                    })?,
                    rows_problem: None,
                }],
                ExportFormat::Csv => {
                    let fields = split_simple_csv(line);
                    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
                    assembler.push_row(&fields, number, verifier.last_sequence())?
                }
            };
            for assembled in &items {
                assembled.verify_with(&mut verifier)?;
            }
        }
        if let Some(assembled) = assembler.finish() {
            assembled.verify_with(&mut verifier)?;
        }
        verifier.finish()
    }

    fn split_simple_csv(line: &str) -> Vec<String> {
        let mut fields = vec![String::new()];
        let mut quoted = false;
        let mut characters = line.chars().peekable();
        while let Some(character) = characters.next() {
            match (character, quoted) {
                ('"', false) => quoted = true,
                ('"', true) if characters.peek() == Some(&'"') => {
                    characters.next();
                    fields.last_mut().unwrap().push('"');
                }
                ('"', true) => quoted = false,
                (',', false) => fields.push(String::new()),
                (other, _) => fields.last_mut().unwrap().push(other),
            }
        }
        fields
    }

    #[test]
    fn both_formats_round_trip_and_verify() {
        // Proves a rendered export of an intact chain reads back to the same records and verifies,
        // with a trial balance that nets to zero, in both formats.
        let mut records = chain_of(5);
        records[2].memo = "a memo, with \"quotes\"".into();
        records[2].metadata = r#"{"a":1,"b":"x"}"#.into();
        records[2].hash = records[2].compute_hash();
        let mut previous = records[2].hash;
        for record in &mut records[3..] {
            record.previous_hash = previous;
            record.hash = record.compute_hash();
            previous = record.hash;
        }
        for format in [ExportFormat::Jsonl, ExportFormat::Csv] {
            let summary = verify_bytes(format, &render(format, &records)).unwrap();
            assert_eq!(summary.transactions_count, 5, "{format:?}");
            assert_eq!(summary.postings_count, 10);
            assert_eq!(summary.final_hash, Some(records[4].hash));
            assert_eq!(summary.first_sequence, Some(1));
            let euro = summary.trial_balance["EUR"];
            assert_eq!(euro.net_minor(), 0);
            assert_eq!(euro.debit_minor, 1500);
        }
    }

    #[test]
    fn an_empty_export_is_valid() {
        // Proves a range past the end (no transaction) renders an export that verifies as empty.
        for format in [ExportFormat::Jsonl, ExportFormat::Csv] {
            let summary = verify_bytes(format, &render(format, &[])).unwrap();
            assert_eq!(summary.transactions_count, 0);
            assert_eq!(summary.final_hash, None);
        }
    }

    #[test]
    fn a_range_verifies_and_can_be_pinned() {
        // Proves a range export verifies, when a range is asked for, from the previous hash in its
        // first record; that without it a file not starting at sequence 1 is refused; and that an
        // auditor can require it to start where the previous export ended.
        let records = chain_of(6);
        let bytes = render(ExportFormat::Jsonl, &records[3..]);
        assert!(matches!(
            verify_bytes(ExportFormat::Jsonl, &bytes),
            Err(FileProblem::StartMismatch {
                expected_sequence: 1,
                found_sequence: 4,
                ..
            })
        ));
        let summary = verify_bytes_with(
            ExportVerifier::expecting_start(4, None),
            ExportFormat::Jsonl,
            &bytes,
        )
        .unwrap();
        let pinned = verify_bytes_with(
            ExportVerifier::expecting_start(4, Some(records[2].hash)),
            ExportFormat::Jsonl,
            &bytes,
        );
        assert_eq!(
            pinned.as_ref().map(|summary| summary.first_sequence),
            Ok(Some(4))
        );
        assert_eq!(summary.first_sequence, Some(4));
        assert_eq!(summary.start_previous_hash, Some(records[2].hash));
        assert!(!summary.is_whole_chain());
        let mut pinned = ExportVerifier::expecting_start(1, None);
        let ExportItem::Record(first) =
            parse_jsonl_line(bytes.split(|b| *b == b'\n').next().unwrap()).unwrap()
        else {
            panic!("a record");
        };
        let problem = pinned.push(1, &ExportItem::Record(first)).unwrap_err();
        assert!(matches!(
            problem,
            FileProblem::StartMismatch {
                found_sequence: 4,
                ..
            }
        ));
    }

    #[test]
    fn truncation_and_dropped_last_records_are_named() {
        // Proves a file cut short (with or without a partial line) and a file whose last
        // transaction was removed are reported with the sequence where they stop.
        let records = chain_of(4);
        for format in [ExportFormat::Jsonl, ExportFormat::Csv] {
            let bytes = render(format, &records);
            let cut = &bytes[..bytes.len() * 2 / 3];
            let problem = verify_bytes(format, cut).unwrap_err();
            assert!(
                matches!(
                    problem,
                    FileProblem::Truncated { .. } | FileProblem::RowsDisagree { .. }
                ),
                "{format:?} {problem}"
            );
            let text = String::from_utf8(bytes).unwrap();
            let mut lines: Vec<&str> = text.lines().collect();
            let end = lines.pop().unwrap();
            let without_end = lines.join("\n") + "\n";
            let problem = verify_bytes(format, without_end.as_bytes()).unwrap_err();
            assert_eq!(
                problem,
                FileProblem::Truncated {
                    after_sequence: Some(4)
                }
            );
            lines.pop();
            if format == ExportFormat::Csv {
                lines.pop();
            }
            let dropped = lines.join("\n") + "\n" + end + "\n";
            let problem = verify_bytes(format, dropped.as_bytes()).unwrap_err();
            assert!(
                matches!(
                    problem,
                    FileProblem::EndMismatch {
                        end_sequence: Some(4),
                        file_sequence: Some(3),
                        ..
                    }
                ),
                "{problem}"
            );
        }
    }

    #[test]
    fn a_file_is_checked_against_a_signed_head_at_its_sequence() {
        // Proves the head check: the chain hash after the head's sequence must be the head's hash
        // (at the file's end, in its middle, or genesis for 0); a file that stops before the head
        // or holds another history there is refused.
        let records = chain_of(5);
        let bytes = render(ExportFormat::Csv, &records);
        let watched = |sequence| {
            verify_bytes_with(
                ExportVerifier::new().watching(sequence),
                ExportFormat::Csv,
                &bytes,
            )
            .unwrap()
        };
        assert_eq!(watched(5).check_head(5, records[4].hash), Ok(()));
        assert_eq!(watched(2).check_head(2, records[1].hash), Ok(()));
        assert_eq!(watched(0).check_head(0, GENESIS_HASH), Ok(()));
        assert!(matches!(
            watched(2).check_head(2, records[2].hash),
            Err(HeadMismatch::Differs { sequence: 2, .. })
        ));
        assert!(matches!(
            watched(6).check_head(6, records[4].hash),
            Err(HeadMismatch::NotReached { sequence: 6, .. })
        ));
        // A range's start hash is the head of the sequence before it.
        let range = render(ExportFormat::Csv, &records[2..]);
        let summary = verify_bytes_with(
            ExportVerifier::expecting_start(3, None).watching(2),
            ExportFormat::Csv,
            &range,
        )
        .unwrap();
        assert_eq!(summary.check_head(2, records[1].hash), Ok(()));
    }

    #[test]
    fn values_have_one_spelling() {
        // Proves the strict readers: upper-case or unhyphenated UUIDs, upper-case hex and
        // non-canonical integers are refused, in JSONL lines and in CSV values alike; and a JSON
        // key given twice or unknown is refused.
        let records = chain_of(1);
        let line = render(ExportFormat::Jsonl, &records);
        let line = std::str::from_utf8(&line)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned();
        assert!(parse_jsonl_line(line.as_bytes()).is_ok());
        let id = records[0].postings[0].account_id.to_string();
        let hash = records[0].hash.to_hex();
        for changed in [
            line.replace(&id, &id.to_uppercase()),
            line.replace(&id, &id.replace('-', "")),
            line.replace(&hash, &hash.to_uppercase()),
            line.replace("\"memo\":", "\"memo\":\"x\",\"memo\":"),
            line.replace("\"memo\":", "\"note\":1,\"memo\":"),
        ] {
            assert_ne!(changed, line);
            assert!(parse_jsonl_line(changed.as_bytes()).is_err(), "{changed}");
        }
        assert!(parse_jsonl_line(br#"{"export_end":{"last_sequence":null}}"#).is_err());
        assert!(
            parse_jsonl_line(br#"{"export_end":{"last_sequence":null,"final_hash":null}}"#).is_ok()
        );
        for (text, value) in [
            ("0", Some(0)),
            ("10", Some(10)),
            ("01", None),
            ("+1", None),
            ("-0", None),
            (" 1", None),
            ("", None),
        ] {
            assert_eq!(parse_u64(text).ok(), value, "{text}");
        }
        for (text, ok) in [
            ("-5", true),
            ("0", true),
            ("-0", false),
            ("+5", false),
            ("-05", false),
        ] {
            let mut fields = [""; 17];
            fields[11] = "0";
            fields[12] = "00000000-0000-0000-0000-000000000001";
            fields[14] = text;
            assert_eq!(parse_posting(&fields).is_ok(), ok, "{text}");
        }
    }

    #[test]
    fn malformed_lines_are_errors_not_panics() {
        // Proves garbage, wrong types and wrong column counts are reported with their line.
        for line in ["", "{", "[]", "{\"sequence\":\"x\"}", "null", "\u{0}"] {
            assert!(parse_jsonl_line(line.as_bytes()).is_err(), "{line:?}");
        }
        let mut assembler = CsvAssembler::new();
        assert!(matches!(
            assembler.push_row(&["a", "b"], 1, None),
            Err(FileProblem::Malformed { line: 1, .. })
        ));
        let mut assembler = CsvAssembler::new();
        assembler.push_row(&CSV_COLUMNS, 1, None).unwrap();
        let mut row = [""; 17];
        row[0] = "posting";
        row[1] = "1x";
        assert!(matches!(
            assembler.push_row(&row, 2, None),
            Err(FileProblem::Malformed { line: 2, .. })
        ));
    }
}
