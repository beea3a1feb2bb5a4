//! The file side of auditors' exports: `export` writes the journal from the database to a file,
//! `verify --file` reads one back and checks it with the pure verifier of `ledger_core::export`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ledger_core::export::{
    CsvAssembler, ExportFormat, ExportItem, ExportSummary, ExportVerifier, ExportWriter,
    FileProblem, parse_jsonl_line,
};
use ledger_core::{ChainHash, HashedRecord};
use ledger_store::{MAX_JOURNAL_PAGE, Store};

/// Journal pages read ahead of the writer: reading the next page overlaps rendering and writing
/// the current one, and memory stays bounded at this many pages.
pub const EXPORT_PAGES_AHEAD: usize = 2;

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

    let (pages_sender, mut pages) = tokio::sync::mpsc::channel(EXPORT_PAGES_AHEAD);
    let reader_store = store.clone();
    let reader = tokio::spawn(async move {
        let mut after = from_sequence.saturating_sub(1);
        while after < last {
            let page = reader_store.journal_after(after, MAX_JOURNAL_PAGE).await?;
            let Some(page_last) = page.last().map(|record| record.sequence) else {
                break;
            };
            // A page reaching past the range ends it, even across a gap in a damaged journal.
            after = page_last.max(after);
            let reached_end = page_last >= last;
            if pages_sender.send(page).await.is_err() || reached_end {
                break;
            }
        }
        Ok::<_, ledger_store::StoreError>(())
    });

    let mut writer = ExportWriter::new(format);
    let mut buffer = Vec::with_capacity(FILE_BUFFER_BYTES);
    let mut outcome = ExportOutcome {
        transactions_count: 0,
        bytes: 0,
        last_sequence: None,
        final_hash: None,
    };
    writer.write_start(&mut buffer);
    while let Some(page) = pages.recv().await {
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
    reader
        .await
        .context("the journal reader stopped")?
        .context("reading the journal")?;
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

/// Reads and verifies an export file. The outer error is a file that cannot be read at all; the
/// inner one is what the file says (a malformed line, or the first break).
pub fn verify_file(
    path: &Path,
    format: ExportFormat,
    mut verifier: ExportVerifier,
) -> anyhow::Result<Result<ExportSummary, FileProblem>> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let (complete, length) =
        complete_length(&mut file).with_context(|| format!("reading {}", path.display()))?;
    let cut_short = complete < length;
    let reader = BufReader::with_capacity(FILE_BUFFER_BYTES, file.take(complete));
    let checked = match format {
        ExportFormat::Jsonl => check_jsonl(reader, &mut verifier),
        ExportFormat::Csv => check_csv(reader, &mut verifier, complete),
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
struct LineProblem {
    problem: FileProblem,
    at_end: bool,
}

/// Bytes of JSON Lines handed to a worker thread at a time (whole lines).
const VERIFY_BLOCK_BYTES: usize = 2 * 1024 * 1024;
/// The longest line accepted: far above any transaction the ledger writes (its fields are bounded),
/// and it bounds the memory a hostile file can make the verifier take.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;
/// Worker threads parsing and hashing lines, at most (one per core up to this).
const MAX_VERIFY_THREADS: usize = 8;

/// A run of whole lines and the number of its first line.
struct Block {
    bytes: Vec<u8>,
    first_line: u64,
    /// No line follows this block.
    last: bool,
}

/// A parsed line: a hashed transaction or the end record, or why it is not an export line.
enum ParsedLine {
    Record(Box<HashedRecord>),
    End(ledger_core::export::ExportEnd),
    Malformed(String),
}

struct ParsedBlock {
    lines: Vec<(u64, ParsedLine)>,
    last: bool,
}

fn parse_block(block: Block) -> ParsedBlock {
    let mut lines = Vec::with_capacity(block.bytes.len() / 512 + 1);
    for (number, line) in
        (block.first_line..).zip(block.bytes.split_inclusive(|byte| *byte == b'\n'))
    {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let parsed = match parse_jsonl_line(text) {
            Ok(ExportItem::Record(record)) => {
                ParsedLine::Record(Box::new(HashedRecord::new(record)))
            }
            Ok(ExportItem::End(end)) => ParsedLine::End(end),
            Err(message) => ParsedLine::Malformed(message),
        };
        lines.push((number, parsed));
    }
    ParsedBlock {
        lines,
        last: block.last,
    }
}

/// Reads whole lines in blocks and hands them round-robin to the workers.
fn read_blocks(
    mut reader: impl BufRead,
    workers: &[std::sync::mpsc::SyncSender<Block>],
) -> std::io::Result<()> {
    let mut carry: Vec<u8> = Vec::new();
    let mut next_line = 1_u64;
    let mut index = 0_usize;
    loop {
        let mut bytes = std::mem::take(&mut carry);
        // At least a block more than what was carried over, so a long line keeps growing.
        let target = bytes.len() + VERIFY_BLOCK_BYTES;
        bytes.reserve(VERIFY_BLOCK_BYTES);
        let mut at_eof = false;
        while bytes.len() < target {
            let available = reader.fill_buf()?;
            if available.is_empty() {
                at_eof = true;
                break;
            }
            let taken = available.len().min(target - bytes.len());
            bytes.extend_from_slice(&available[..taken]);
            reader.consume(taken);
        }
        // Whole lines only; the rest starts the next block (a line longer than a block grows it,
        // up to the line limit).
        let cut = if at_eof {
            bytes.len()
        } else {
            match bytes.iter().rposition(|byte| *byte == b'\n') {
                Some(position) => position + 1,
                None if bytes.len() > MAX_LINE_BYTES => bytes.len(),
                None => {
                    carry = bytes;
                    continue;
                }
            }
        };
        carry = bytes.split_off(cut);
        let lines = bytes.iter().filter(|byte| **byte == b'\n').count() as u64;
        let block = Block {
            bytes,
            first_line: next_line,
            last: at_eof,
        };
        next_line += lines;
        if workers[index % workers.len()].send(block).is_err() || at_eof {
            return Ok(());
        }
        index += 1;
    }
}

/// Verifies JSON Lines: a reader thread cuts the file into blocks of whole lines, worker threads
/// parse and hash them, and this thread checks the chain in file order with the hashes they made.
#[allow(clippy::result_large_err)]
fn check_jsonl(
    reader: impl BufRead + Send,
    verifier: &mut ExportVerifier,
) -> Result<(), LineProblem> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, MAX_VERIFY_THREADS);
    std::thread::scope(|scope| {
        let mut inputs = Vec::with_capacity(threads);
        let mut outputs = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (block_sender, block_receiver) = std::sync::mpsc::sync_channel::<Block>(1);
            let (parsed_sender, parsed_receiver) = std::sync::mpsc::sync_channel::<ParsedBlock>(1);
            scope.spawn(move || {
                for block in block_receiver {
                    if parsed_sender.send(parse_block(block)).is_err() {
                        return;
                    }
                }
            });
            inputs.push(block_sender);
            outputs.push(parsed_receiver);
        }
        let reading = scope.spawn(move || read_blocks(reader, &inputs));
        let checked = check_parsed_blocks(&outputs, verifier);
        drop(outputs);
        let read = reading
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the reader thread stopped")));
        match (checked, read) {
            (Err(problem), _) => Err(problem),
            (Ok(()), Err(error)) => Err(LineProblem {
                problem: FileProblem::Malformed {
                    line: 0,
                    after_sequence: verifier.last_sequence(),
                    message: format!("cannot read the file: {error}"),
                },
                at_end: false,
            }),
            (Ok(()), Ok(())) => Ok(()),
        }
    })
}

#[allow(clippy::result_large_err)]
fn check_parsed_blocks(
    outputs: &[std::sync::mpsc::Receiver<ParsedBlock>],
    verifier: &mut ExportVerifier,
) -> Result<(), LineProblem> {
    let mut index = 0_usize;
    // A worker's channel closes only when the reader stopped sending: the blocks have all come.
    while let Ok(block) = outputs[index % outputs.len()].recv() {
        index += 1;
        let count = block.lines.len();
        for (position, (line, parsed)) in block.lines.into_iter().enumerate() {
            let at_end = block.last && position + 1 == count;
            let checked = match parsed {
                ParsedLine::Record(hashed) => verifier.push_hashed(line, &hashed),
                ParsedLine::End(end) => verifier.push(line, &ExportItem::End(end)),
                ParsedLine::Malformed(message) => Err(FileProblem::Malformed {
                    line,
                    after_sequence: verifier.last_sequence(),
                    message,
                }),
            };
            checked.map_err(|problem| LineProblem { problem, at_end })?;
        }
        if block.last {
            break;
        }
    }
    Ok(())
}

#[allow(clippy::result_large_err)]
fn check_csv(
    reader: impl Read,
    verifier: &mut ExportVerifier,
    complete: u64,
) -> Result<(), LineProblem> {
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut assembler = CsvAssembler::new();
    let mut record = csv::StringRecord::new();
    // Line numbers are counted here: every row of an export ends with a line break, and quoted
    // fields may hold more (the reader's own count is off by one after CRLF).
    let mut next_line = 1_u64;
    loop {
        let line = next_line;
        let read = rows.read_record(&mut record).map_err(|error| LineProblem {
            problem: FileProblem::Malformed {
                line,
                after_sequence: verifier.last_sequence(),
                message: error.to_string(),
            },
            at_end: rows.position().byte() >= complete,
        })?;
        if !read {
            break;
        }
        let embedded_breaks: usize = record
            .iter()
            .map(|field| field.bytes().filter(|byte| *byte == b'\n').count())
            .sum();
        next_line += 1 + embedded_breaks as u64;
        let at_end = rows.position().byte() >= complete;
        let fields: Vec<&str> = record.iter().collect();
        let items = assembler
            .push_row(&fields, line, verifier.last_sequence())
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
