//! The file side of auditors' exports: `export` writes the journal from the database to a file,
//! `verify --file` reads one back and checks it with the pure verifier of `ledger_core::export`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ledger_core::ChainHash;
use ledger_core::csv_scan::{GeneralRow, read_general_row};
use ledger_core::export::{
    CSV_COLUMNS, CsvAssembler, ExportFormat, ExportSummary, ExportVerifier, ExportWriter,
    FileProblem,
};
use ledger_store::Store;

use crate::verify_blocks::{MAX_LINE_BYTES, VERIFY_BLOCK_BYTES, check_canonical_csv, check_jsonl};

/// Bytes buffered between the renderer and the file.
const FILE_BUFFER_BYTES: usize = 1024 * 1024;

/// What an export wrote.
#[derive(Debug)]
pub struct ExportOutcome {
    pub transactions_count: u64,
    pub bytes: u64,
    pub last_sequence: Option<u64>,
    pub final_hash: Option<ChainHash>,
}

/// Writes the journal's sequences `from_sequence..=to_sequence` (to the chain head when `None`,
/// fixed when the export starts) to `output`, with a progress bar when `progress` is set.
pub async fn export_to_file(
    store: &Store,
    format: ExportFormat,
    from_sequence: u64,
    to_sequence: Option<u64>,
    output: &Path,
    progress: bool,
) -> anyhow::Result<ExportOutcome> {
    let (head_sequence, _) = store.chain_head().await.context("reading the chain head")?;
    let last = to_sequence.map_or(head_sequence, |to| to.min(head_sequence));
    let file = File::create(output).with_context(|| format!("creating {}", output.display()))?;
    let mut file = std::io::BufWriter::with_capacity(FILE_BUFFER_BYTES, file);
    let total = last.saturating_sub(from_sequence.saturating_sub(1));
    let bar = if progress {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} transactions ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    let mut pages = store.journal_pages_ahead(from_sequence, last);

    let mut writer = ExportWriter::new(format);
    let mut buffer = Vec::with_capacity(FILE_BUFFER_BYTES);
    let mut outcome = ExportOutcome {
        transactions_count: 0,
        bytes: 0,
        last_sequence: None,
        final_hash: None,
    };
    writer.write_start(&mut buffer);
    while let Some(page) = pages.next().await {
        let page = page.context("reading the journal")?;
        let mut written = 0;
        for record in page.iter().take_while(|record| record.sequence <= last) {
            writer.write_record(record, &mut buffer);
            outcome.last_sequence = Some(record.sequence);
            outcome.final_hash = Some(record.hash);
            written += 1;
        }
        outcome.transactions_count += written;
        outcome.bytes += buffer.len() as u64;
        file.write_all(&buffer)
            .with_context(|| format!("writing {}", output.display()))?;
        buffer.clear();
        bar.inc(written);
    }
    writer.write_end(&mut buffer);
    outcome.bytes += buffer.len() as u64;
    file.write_all(&buffer)?;
    let file = file
        .into_inner()
        .map_err(|error| error.into_error())
        .with_context(|| format!("writing {}", output.display()))?;
    file.sync_all()
        .with_context(|| format!("writing {}", output.display()))?;
    bar.finish_and_clear();
    Ok(outcome)
}

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
) -> anyhow::Result<Result<ExportSummary, FileProblem>> {
    verify_file_with(path, format, verifier, VerifyOptions::default())
}

/// [`verify_file`] with chosen [`VerifyOptions`].
pub fn verify_file_with(
    path: &Path,
    format: ExportFormat,
    mut verifier: ExportVerifier,
    options: VerifyOptions,
) -> anyhow::Result<Result<ExportSummary, FileProblem>> {
    let reading = || format!("reading {}", path.display());
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let (complete, length) = complete_length(&mut file).with_context(reading)?;
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
                    file.seek(SeekFrom::Start(0)).with_context(reading)?;
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

/// A problem and whether it was found on the last line the reader had. Large, but made at most
/// once per file (it ends the check).
pub(crate) struct LineProblem {
    pub(crate) problem: FileProblem,
    pub(crate) at_end: bool,
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
