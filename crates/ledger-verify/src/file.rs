//! `verify --file`: reads an export file and checks it with the verifier ([`crate::verifier`]),
//! on every core where the file is laid out as the ledger writes it ([`crate::blocks`]), else
//! with the general reader, which names the first problem exactly.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use ledger_core::export::{CSV_COLUMNS, ExportFormat};

use crate::blocks::{
    LineProblem, MAX_LINE_BYTES, VERIFY_BLOCK_BYTES, check_canonical_csv, check_jsonl,
};
use crate::csv_rows::CsvAssembler;
use crate::csv_scan::{GeneralRow, read_general_row};
use crate::verifier::{ExportSummary, ExportVerifier, FileProblem};

/// A file that cannot be read at all (as opposed to a file whose contents are wrong).
#[derive(Debug, thiserror::Error)]
#[error("{action} {}: {source}", path.display())]
pub struct ReadError {
    /// `opening` or `reading`.
    action: &'static str,
    path: PathBuf,
    source: std::io::Error,
}

/// Bytes read at a time by the general CSV reader.
const FILE_BUFFER_BYTES: usize = 1024 * 1024;

/// The format of an export file, from its extension.
pub fn format_of(path: &Path) -> Option<ExportFormat> {
    path.extension()
        .and_then(|extension| extension.to_str())
        .and_then(ExportFormat::parse)
}

/// Where the last line break of the file is: bytes after it belong to a line cut short.
fn complete_length(file: &mut File) -> std::io::Result<(u64, u64)> {
    let length = file.seek(SeekFrom::End(0))?;
    let mut position = length;
    let mut block = [0_u8; 4096];
    while position > 0 {
        let start = position.saturating_sub(block.len() as u64);
        let size = usize::try_from(position - start).unwrap_or(block.len());
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block[..size])?;
        if let Some(index) = block[..size].iter().rposition(|byte| *byte == b'\n') {
            file.seek(SeekFrom::Start(0))?;
            return Ok((start + index as u64 + 1, length));
        }
        position = start;
    }
    file.seek(SeekFrom::Start(0))?;
    Ok((0, length))
}

/// How `verify --file` reads a file; the defaults are what the command uses.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// Bytes handed to a worker thread at a time.
    pub block_bytes: usize,
    /// Read CSV with the general reader alone, on one thread (the parallel reader's reference).
    pub general_csv_reader_only: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            block_bytes: VERIFY_BLOCK_BYTES,
            general_csv_reader_only: false,
        }
    }
}

/// Reads and verifies an export file. The outer error is a file that cannot be read at all; the
/// inner one is what the file says (a malformed line, or the first break).
pub fn verify_file(
    path: &Path,
    format: ExportFormat,
    verifier: ExportVerifier,
) -> Result<Result<ExportSummary, FileProblem>, ReadError> {
    verify_file_with(path, format, verifier, VerifyOptions::default())
}

/// [`verify_file`] with chosen [`VerifyOptions`].
pub fn verify_file_with(
    path: &Path,
    format: ExportFormat,
    mut verifier: ExportVerifier,
    options: VerifyOptions,
) -> Result<Result<ExportSummary, FileProblem>, ReadError> {
    let failed = |action| {
        move |source| ReadError {
            action,
            path: path.to_owned(),
            source,
        }
    };
    let mut file = File::open(path).map_err(failed("opening"))?;
    let (complete, length) = complete_length(&mut file).map_err(failed("reading"))?;
    let cut_short = complete < length;
    let checked = match format {
        ExportFormat::Jsonl => check_jsonl(
            Read::take(&file, complete),
            &mut verifier,
            options.block_bytes,
        ),
        ExportFormat::Csv => {
            // The parallel reader takes files as the ledger writes them; a file cut short, or
            // anything it does not take, is read again by the general reader, which names the
            // problem exactly as it would have alone.
            let mut attempt = verifier.clone();
            let parallel = (!cut_short && !options.general_csv_reader_only)
                .then(|| {
                    check_canonical_csv(
                        Read::take(&file, complete),
                        &mut attempt,
                        options.block_bytes,
                    )
                })
                .flatten();
            match parallel {
                Some(checked) => {
                    verifier = attempt;
                    checked
                }
                None => {
                    file.seek(SeekFrom::Start(0)).map_err(failed("reading"))?;
                    check_csv(Read::take(&file, complete), &mut verifier, complete)
                }
            }
        }
    };
    let truncated = FileProblem::Truncated {
        after_sequence: verifier.last_sequence(),
    };
    Ok(match checked {
        // A problem on the last complete line of a file cut short is the cut itself.
        Err(LineProblem { at_end: true, .. }) if cut_short => Err(truncated),
        Err(LineProblem { problem, .. }) => Err(problem),
        Ok(()) if cut_short => Err(truncated),
        Ok(()) => verifier.finish(),
    })
}

/// Verifies an export held in memory (an uploaded file) exactly as [`verify_file`] verifies one
/// on disk: the same readers, the same problems (a last line without its line break is a file cut
/// short).
pub fn verify_bytes(
    bytes: &[u8],
    format: ExportFormat,
    mut verifier: ExportVerifier,
) -> Result<ExportSummary, FileProblem> {
    let complete = memchr::memrchr(b'\n', bytes).map_or(0, |index| index + 1);
    let cut_short = complete < bytes.len();
    let lines = &bytes[..complete];
    let checked = match format {
        ExportFormat::Jsonl => check_jsonl(lines, &mut verifier, VERIFY_BLOCK_BYTES),
        ExportFormat::Csv => {
            let mut attempt = verifier.clone();
            let parallel = (!cut_short)
                .then(|| check_canonical_csv(lines, &mut attempt, VERIFY_BLOCK_BYTES))
                .flatten();
            match parallel {
                Some(checked) => {
                    verifier = attempt;
                    checked
                }
                None => check_csv(lines, &mut verifier, complete as u64),
            }
        }
    };
    let truncated = FileProblem::Truncated {
        after_sequence: verifier.last_sequence(),
    };
    match checked {
        Err(LineProblem { at_end: true, .. }) if cut_short => Err(truncated),
        Err(LineProblem { problem, .. }) => Err(problem),
        Ok(()) if cut_short => Err(truncated),
        Ok(()) => verifier.finish(),
    }
}

/// Reads CSV rows strictly ([`read_general_row`]) from `reader`, which holds the file's complete
/// lines (`complete` bytes), and checks them in order.
#[allow(clippy::result_large_err)]
fn check_csv(
    mut reader: impl Read,
    verifier: &mut ExportVerifier,
    complete: u64,
) -> Result<(), LineProblem> {
    let mut assembler = CsvAssembler::new();
    let mut fields: Vec<String> = Vec::with_capacity(CSV_COLUMNS.len());
    let mut buffer: Vec<u8> = Vec::with_capacity(FILE_BUFFER_BYTES);
    let mut start = 0_usize;
    // Bytes of the file before `buffer[0]`, to tell whether a row is the last one.
    let mut consumed = 0_u64;
    // Everything up to `complete` is in `buffer`: nothing follows the row being read.
    let mut at_eof = complete == 0;
    let mut next_line = 1_u64;
    let read_error = |error: std::io::Error, verifier: &ExportVerifier| LineProblem {
        problem: FileProblem::Malformed {
            line: 0,
            after_sequence: verifier.last_sequence(),
            message: format!("cannot read the file: {error}"),
        },
        at_end: false,
    };
    loop {
        if start >= buffer.len() && at_eof {
            break;
        }
        let line = next_line;
        let (next, breaks) = match read_general_row(&buffer, start, at_eof, &mut fields) {
            GeneralRow::Row { next, breaks } => (next, breaks),
            GeneralRow::NeedMore if buffer.len() - start > MAX_LINE_BYTES => {
                return Err(LineProblem {
                    problem: FileProblem::Malformed {
                        line,
                        after_sequence: verifier.last_sequence(),
                        message: format!("a row longer than {MAX_LINE_BYTES} bytes"),
                    },
                    at_end: false,
                });
            }
            GeneralRow::NeedMore => {
                buffer.drain(..start);
                consumed += start as u64;
                start = 0;
                let length = buffer.len();
                buffer.resize(length + FILE_BUFFER_BYTES, 0);
                let read = reader
                    .read(&mut buffer[length..])
                    .map_err(|error| read_error(error, verifier))?;
                buffer.truncate(length + read);
                at_eof = read == 0 || consumed + buffer.len() as u64 >= complete;
                continue;
            }
            GeneralRow::Malformed(message) => {
                // On the last line of the file's complete lines, a cut there may be the cause.
                let last_line = at_eof
                    && memchr::memchr(b'\n', &buffer[start..buffer.len().saturating_sub(1)])
                        .is_none();
                return Err(LineProblem {
                    problem: FileProblem::Malformed {
                        line,
                        after_sequence: verifier.last_sequence(),
                        message,
                    },
                    at_end: last_line,
                });
            }
            GeneralRow::Unfinished(message) => {
                return Err(LineProblem {
                    problem: FileProblem::Malformed {
                        line,
                        after_sequence: verifier.last_sequence(),
                        message,
                    },
                    at_end: true,
                });
            }
        };
        start = next;
        next_line += 1 + breaks;
        let at_end = consumed + next as u64 >= complete;
        let row: Vec<&str> = fields.iter().map(String::as_str).collect();
        let items = assembler
            .push_row(&row, line, verifier.last_sequence())
            .map_err(|problem| LineProblem { problem, at_end })?;
        for assembled in &items {
            assembled
                .verify_with(verifier)
                .map_err(|problem| LineProblem { problem, at_end })?;
        }
    }
    if let Some(assembled) = assembler.finish() {
        assembled
            .verify_with(verifier)
            .map_err(|problem| LineProblem {
                problem,
                at_end: true,
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::{LineProblem, check_canonical_csv};
    use crate::verifier::{ExportVerifier, FileProblem};
    use ledger_core::export::{ExportAccount, ExportFormat, ExportWriter};
    use ledger_core::{GENESIS_HASH, JournalRecord, RecordPosting};
    use uuid::Uuid;

    /// A chained journal with texts that need quoting and escaping (commas, quotes, line breaks,
    /// non-ASCII), several currencies and two or three postings per transaction.
    fn journal(count: u64) -> Vec<JournalRecord> {
        let mut previous = GENESIS_HASH;
        (1..=count)
            .map(|sequence| {
                let amount = i64::try_from(sequence).unwrap_or(1) * 100;
                let currency = if sequence % 3 == 0 { "XOF" } else { "EUR" };
                let mut postings = vec![
                    RecordPosting {
                        account_id: Uuid::from_u128(u128::from(sequence % 4)),
                        currency: currency.into(),
                        amount_minor: amount,
                    },
                    RecordPosting {
                        account_id: Uuid::from_u128(7),
                        currency: currency.into(),
                        amount_minor: -amount,
                    },
                ];
                if sequence % 2 == 0 {
                    postings.push(RecordPosting {
                        account_id: Uuid::from_u128(9),
                        currency: "CDF".into(),
                        amount_minor: 0,
                    });
                }
                let mut record = JournalRecord {
                    sequence,
                    transaction_id: Uuid::from_u128(1000 + u128::from(sequence)),
                    kind: "pledge".into(),
                    effective_date: "2026-11-23".into(),
                    recorded_at: "2026-11-23T03:25:16.000000Z".into(),
                    actor_subject: "treasurer@csq".into(),
                    actor_organisation: Uuid::from_u128(1).to_string(),
                    memo: match sequence % 4 {
                        0 => "section 12, \"Montréal\"".into(),
                        1 => "two\r\nlines".into(),
                        _ => "plain".into(),
                    },
                    metadata: format!("{{\"batch\":\"{sequence}\",\"period\":\"2026-11\"}}"),
                    postings,
                    previous_hash: previous,
                    hash: GENESIS_HASH,
                };
                record.hash = record.compute_hash();
                previous = record.hash;
                record
            })
            .collect()
    }

    fn render(format: ExportFormat, records: &[JournalRecord]) -> Vec<u8> {
        let mut writer = ExportWriter::new(format);
        let mut bytes = Vec::new();
        writer.write_start(&mut bytes);
        for record in records {
            writer.write_record(record, &mut bytes);
        }
        writer.write_end(&mut bytes);
        bytes
    }

    /// An `SLJ2` export of `records` (JSONL or CSV) naming the accounts of `journal(2)`'s
    /// postings, with names that need quoting and a line break.
    fn render_slj2(format: ExportFormat, records: &[JournalRecord]) -> Vec<u8> {
        let accounts = [(1, "EUR"), (2, "EUR"), (7, "EUR"), (9, "CDF")]
            .into_iter()
            .map(|(id, currency)| ExportAccount {
                id: Uuid::from_u128(id),
                code: format!("test:{id}"),
                name: format!("Account {id}, \"Montréal\"\r\nsecond line"),
                kind: "asset".into(),
                currency: currency.into(),
                owner: if id == 7 {
                    Uuid::from_u128(1).to_string()
                } else {
                    String::new()
                },
            })
            .collect();
        let mut writer = ExportWriter::new(format).with_section(accounts);
        let mut bytes = Vec::new();
        writer.write_start(&mut bytes);
        for record in records {
            writer.write_record(record, &mut bytes);
        }
        writer.write_end(&mut bytes);
        bytes
    }

    /// What verifying `bytes` says, as text, with the given options.
    fn verdict(
        directory: &std::path::Path,
        format: ExportFormat,
        bytes: &[u8],
        options: VerifyOptions,
    ) -> String {
        let path = directory.join(format!("export.{}", format.as_str()));
        std::fs::write(&path, bytes).unwrap();
        let outcome = verify_file_with(&path, format, ExportVerifier::new(), options).unwrap();
        format!("{outcome:?}")
    }

    /// Damaged copies of a file: one byte changed at each position (to a character that matters
    /// to the format), each line deleted, neighbouring lines swapped, the file cut short.
    fn damaged(bytes: &[u8]) -> Vec<Vec<u8>> {
        let replacements = b"0a\",\r\n\\-9Ff}";
        let mut copies = Vec::new();
        for (position, original) in bytes.iter().enumerate() {
            let replacement = replacements[position % replacements.len()];
            if replacement != *original {
                let mut copy = bytes.to_vec();
                copy[position] = replacement;
                copies.push(copy);
            }
        }
        let lines: Vec<&[u8]> = bytes.split_inclusive(|byte| *byte == b'\n').collect();
        for index in 0..lines.len() {
            let mut deleted = lines.clone();
            deleted.remove(index);
            copies.push(deleted.concat());
            if index + 1 < lines.len() {
                let mut swapped = lines.clone();
                swapped.swap(index, index + 1);
                copies.push(swapped.concat());
            }
        }
        for length in (0..bytes.len()).step_by(97) {
            copies.push(bytes[..length].to_vec());
        }
        copies
    }

    #[test]
    fn the_parallel_csv_reader_takes_ledger_files_in_many_blocks() {
        // Proves the fast reader is the one that verifies a file as the ledger writes it (so the
        // speed is real), across many small blocks, with the general reader's summary.
        let records = journal(40);
        let bytes = render(ExportFormat::Csv, &records);
        let mut verifier = ExportVerifier::new();
        let checked = check_canonical_csv(bytes.as_slice(), &mut verifier, 512);
        assert!(matches!(checked, Some(Ok(()))));
        let fast = verifier.finish().unwrap();
        assert_eq!(fast.transactions_count, 40);
        assert_eq!(fast.final_hash, Some(records[39].hash));

        let directory = tempfile::tempdir().unwrap();
        let general = VerifyOptions {
            block_bytes: 512,
            general_csv_reader_only: true,
        };
        assert_eq!(
            format!("{:?}", Ok::<_, FileProblem>(fast)),
            verdict(directory.path(), ExportFormat::Csv, &bytes, general)
        );
    }

    #[test]
    fn damaged_csv_files_get_the_general_readers_verdict() {
        // Proves that on every damaged copy of a CSV export (each byte changed, each line deleted
        // or swapped, cut short) the parallel reader reports exactly what the general reader alone
        // reports: the same first problem, at the same line and sequence.
        let bytes = render(ExportFormat::Csv, &journal(4));
        every_damaged_copy_gets_the_general_readers_verdict(&bytes, 300);
    }

    #[test]
    fn the_parallel_csv_reader_takes_an_slj2_section_split_across_blocks() {
        // Proves the fast reader verifies a CSV SLJ2 export itself (not by falling back), in
        // blocks small enough to put the accounts section and the end row in different blocks,
        // with the general reader's summary (the section counted), and that JSONL and CSV
        // exports of the same journal state the same section.
        let records = journal(2);
        let bytes = render_slj2(ExportFormat::Csv, &records);
        for block_bytes in [64, 300, 1 << 20] {
            let mut verifier = ExportVerifier::new();
            let checked = check_canonical_csv(bytes.as_slice(), &mut verifier, block_bytes);
            assert!(matches!(checked, Some(Ok(()))), "{checked:?}");
            let fast = verifier.finish().unwrap();
            assert_eq!(fast.accounts_count, Some((4, 0)));
            let directory = tempfile::tempdir().unwrap();
            let general = VerifyOptions {
                block_bytes,
                general_csv_reader_only: true,
            };
            assert_eq!(
                format!("{:?}", Ok::<_, FileProblem>(fast.clone())),
                verdict(directory.path(), ExportFormat::Csv, &bytes, general)
            );
            let jsonl = render_slj2(ExportFormat::Jsonl, &records);
            assert_eq!(
                verdict(
                    directory.path(),
                    ExportFormat::Jsonl,
                    &jsonl,
                    VerifyOptions::default()
                ),
                format!("{:?}", Ok::<_, FileProblem>(fast))
            );
        }
    }

    #[test]
    fn damaged_slj2_csv_files_get_the_general_readers_verdict() {
        // Proves that on every damaged copy of a CSV SLJ2 export (each byte changed, each line
        // deleted or swapped — account rows, the `accounts` row and the end row included — cut
        // short) the parallel reader reports exactly what the general reader alone reports.
        let bytes = render_slj2(ExportFormat::Csv, &journal(2));
        every_damaged_copy_gets_the_general_readers_verdict(&bytes, 200);
    }

    /// Checks every damaged copy of the CSV export `bytes`: the parallel reader (in blocks of
    /// `block_bytes`) says what the general reader alone says, and most copies are refused.
    fn every_damaged_copy_gets_the_general_readers_verdict(bytes: &[u8], block_bytes: usize) {
        let directory = tempfile::tempdir().unwrap();
        let parallel = VerifyOptions {
            block_bytes,
            general_csv_reader_only: false,
        };
        let general = VerifyOptions {
            general_csv_reader_only: true,
            ..parallel
        };
        let mut problems = 0;
        for copy in damaged(bytes) {
            let expected = verdict(directory.path(), ExportFormat::Csv, &copy, general);
            let found = verdict(directory.path(), ExportFormat::Csv, &copy, parallel);
            assert_eq!(found, expected, "{}", String::from_utf8_lossy(&copy));
            problems += usize::from(expected.starts_with("Err"));
        }
        assert!(
            problems > 500,
            "only {problems} damaged copies were refused"
        );
    }

    #[test]
    fn a_file_in_memory_gets_the_verdict_of_the_same_file_on_disk() {
        // Proves `verify_bytes` (the portal's upload) is `verify --file`: for both formats, the
        // intact export and every damaged copy (cut short included) get the very same verdict.
        let directory = tempfile::tempdir().unwrap();
        for format in [ExportFormat::Csv, ExportFormat::Jsonl] {
            let bytes = render(format, &journal(4));
            let intact = verify_bytes(&bytes, format, ExportVerifier::new());
            assert_eq!(
                intact.as_ref().map(|summary| summary.transactions_count),
                Ok(4)
            );
            for copy in std::iter::once(bytes.clone()).chain(damaged(&bytes).into_iter().step_by(5))
            {
                let on_disk = verdict(directory.path(), format, &copy, VerifyOptions::default());
                let in_memory = verify_bytes(&copy, format, ExportVerifier::new());
                assert_eq!(
                    format!("{in_memory:?}"),
                    on_disk,
                    "{}",
                    String::from_utf8_lossy(&copy)
                );
            }
        }
    }

    #[test]
    fn damaged_jsonl_files_get_the_same_verdict_in_any_blocks() {
        // Proves cutting a JSONL file into blocks changes nothing: every damaged copy gets the
        // same verdict (line numbers included) in blocks of a few lines as in one block.
        let bytes = render(ExportFormat::Jsonl, &journal(4));
        let directory = tempfile::tempdir().unwrap();
        let small = VerifyOptions {
            block_bytes: 300,
            general_csv_reader_only: false,
        };
        let whole = VerifyOptions {
            block_bytes: 1 << 20,
            ..small
        };
        for copy in damaged(&bytes) {
            assert_eq!(
                verdict(directory.path(), ExportFormat::Jsonl, &copy, small),
                verdict(directory.path(), ExportFormat::Jsonl, &copy, whole),
                "{}",
                String::from_utf8_lossy(&copy)
            );
        }
    }

    #[test]
    fn a_changed_hash_is_found_by_the_parallel_reader() {
        // Proves the fast reader itself finds tampering (not only the fallback): a changed hash
        // digit keeps the file canonical, and the break is named at its sequence.
        let records = journal(20);
        let bytes = render(ExportFormat::Csv, &records);
        let text = String::from_utf8(bytes).unwrap();
        let hash = records[11].hash.to_hex();
        let mut changed = hash.clone();
        changed.replace_range(0..1, if hash.starts_with('0') { "1" } else { "0" });
        let tampered = text.replace(&hash, &changed);
        let mut verifier = ExportVerifier::new();
        let checked = check_canonical_csv(tampered.as_bytes(), &mut verifier, 1024);
        let Some(Err(LineProblem { problem, .. })) = checked else {
            panic!("the fast reader should have read the file and found the break");
        };
        assert_eq!(problem.sequence(), Some(12));
    }
}
