//! Verifying an export file on every core: one thread reads the file in blocks of whole lines (or,
//! for CSV, whole transactions), worker threads parse, hash and tally each block, and the calling
//! thread checks the chain in file order from their digests.

use std::io::Read;
use std::ops::ControlFlow;
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};

use ledger_core::export::{AccountsSection, ExportAccount, ExportItem};
use ledger_core::{ChainHash, Movements};

use crate::csv_scan::{CsvBlockScanner, ScannedBlock, ScannedItem, transaction_cut};
use crate::jsonl_scan::{JsonlScanner, digest_jsonl_line};
use crate::verifier::{DigestedLine, ExportVerifier, FileProblem};

/// A problem and whether it was found on the last line the reader had (a file cut short there is
/// reported as the cut). Large, but made at most once per file (it ends the check).
#[derive(Debug)]
pub(crate) struct LineProblem {
    pub(crate) problem: FileProblem,
    pub(crate) at_end: bool,
}

/// Bytes handed to a worker thread at a time.
pub const VERIFY_BLOCK_BYTES: usize = 2 * 1024 * 1024;
/// The longest line (or CSV transaction) kept whole in one block: far above any transaction the
/// ledger writes, and it bounds the memory a hostile file can make the verifier take.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;
/// Worker threads, at most (one per core up to this).
const MAX_VERIFY_THREADS: usize = 8;
/// How far back from a CSV block's end the search for a transaction boundary starts.
const CSV_CUT_WINDOW: usize = 256 * 1024;

/// A run of whole units read from the file.
pub struct Block {
    pub bytes: Vec<u8>,
    /// The block begins the file.
    pub starts_file: bool,
    /// Nothing follows the block.
    pub last: bool,
}

/// Reads `reader` in blocks of about `block_bytes`, each ending where `cut` says a unit ends
/// (`None`: read on), has worker threads turn each into a result with `work`, and hands the
/// results to `take` in file order, with whether the block was the last, until `take` breaks.
fn in_blocks<S: Default, R: Send>(
    reader: impl Read + Send,
    block_bytes: usize,
    cut: impl Fn(&[u8]) -> Option<usize> + Send,
    work: impl Fn(&mut S, &Block) -> R + Sync,
    mut take: impl FnMut(R, bool) -> ControlFlow<()>,
) -> std::io::Result<()> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, MAX_VERIFY_THREADS);
    std::thread::scope(|scope| {
        let mut inputs = Vec::with_capacity(threads);
        let mut outputs: Vec<Receiver<(R, bool)>> = Vec::with_capacity(threads);
        let work = &work;
        // Blocks' buffers go back to the reader once read, so the same few are used throughout.
        let (spare_sender, spare_buffers) = channel::<Vec<u8>>();
        for _ in 0..threads {
            let (block_sender, block_receiver) = sync_channel::<Block>(1);
            let (result_sender, result_receiver) = sync_channel(1);
            let spare_sender = spare_sender.clone();
            scope.spawn(move || {
                let mut state = S::default();
                for block in block_receiver {
                    let result = work(&mut state, &block);
                    // The reader may have finished: then the buffer is simply dropped.
                    let _ = spare_sender.send(block.bytes);
                    if result_sender.send((result, block.last)).is_err() {
                        return;
                    }
                }
            });
            inputs.push(block_sender);
            outputs.push(result_receiver);
        }
        drop(spare_sender);
        let reading =
            scope.spawn(move || read_blocks(reader, block_bytes, cut, &inputs, &spare_buffers));
        // A worker's channel closes only when the reader stopped sending: the blocks have all come.
        let mut index = 0_usize;
        while let Ok((result, last)) = outputs[index % outputs.len()].recv() {
            index += 1;
            if take(result, last).is_break() || last {
                break;
            }
        }
        drop(outputs);
        reading
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the reader thread stopped")))
    })
}

/// Reads blocks and hands them round-robin to the workers.
fn read_blocks(
    mut reader: impl Read,
    block_bytes: usize,
    cut: impl Fn(&[u8]) -> Option<usize>,
    workers: &[SyncSender<Block>],
    spare_buffers: &Receiver<Vec<u8>>,
) -> std::io::Result<()> {
    let mut carry: Vec<u8> = Vec::new();
    let mut starts_file = true;
    let mut index = 0_usize;
    loop {
        let mut bytes = spare_buffers.try_recv().unwrap_or_default();
        bytes.clear();
        bytes.append(&mut carry);
        // At least a block more than what was carried over, so a long unit keeps growing.
        let wanted = block_bytes as u64;
        bytes.reserve(block_bytes);
        let read = (&mut reader).take(wanted).read_to_end(&mut bytes)?;
        let at_eof = read == 0 || (read as u64) < wanted;
        let end = if at_eof {
            bytes.len()
        } else {
            match cut(&bytes).filter(|end| *end > 0) {
                Some(end) => end,
                None if bytes.len() > MAX_LINE_BYTES => bytes.len(),
                None => {
                    carry = bytes;
                    continue;
                }
            }
        };
        carry.extend_from_slice(&bytes[end..]);
        bytes.truncate(end);
        let block = Block {
            bytes,
            starts_file,
            last: at_eof,
        };
        starts_file = false;
        if workers[index % workers.len()].send(block).is_err() || at_eof {
            return Ok(());
        }
        index += 1;
    }
}

/// The lines of a JSONL block, digested, and the movements of their postings.
struct JsonlBlock {
    lines: Vec<Result<DigestedLine, String>>,
    movements: Movements,
}

fn digest_jsonl_block(scanner: &mut JsonlScanner, block: &Block) -> JsonlBlock {
    let mut lines = Vec::with_capacity(block.bytes.len() / 512 + 1);
    let mut movements = Movements::default();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', &block.bytes) {
        let line = &block.bytes[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        lines.push(digest_jsonl_line(line, scanner, &mut movements));
        start = end + 1;
    }
    if start < block.bytes.len() {
        lines.push(digest_jsonl_line(
            &block.bytes[start..],
            scanner,
            &mut movements,
        ));
    }
    JsonlBlock { lines, movements }
}

/// Verifies JSON Lines (the whole file, read up to its last line break).
#[allow(clippy::result_large_err)]
pub(crate) fn check_jsonl(
    reader: impl Read + Send,
    verifier: &mut ExportVerifier,
    block_bytes: usize,
) -> Result<(), LineProblem> {
    let mut next_line = 1_u64;
    let mut problem = None;
    let read = in_blocks(
        reader,
        block_bytes,
        |bytes: &[u8]| memchr::memrchr(b'\n', bytes).map(|at| at + 1),
        digest_jsonl_block,
        |block: JsonlBlock, last| {
            let count = block.lines.len();
            for (position, parsed) in block.lines.into_iter().enumerate() {
                let line = next_line;
                next_line += 1;
                let checked = match parsed {
                    Ok(DigestedLine::Record(digest)) => verifier.push_digest(line, &digest),
                    Ok(DigestedLine::End(end)) => verifier.push(line, &ExportItem::End(end)),
                    Err(message) => Err(FileProblem::Malformed {
                        line,
                        after_sequence: verifier.last_sequence(),
                        message,
                    }),
                };
                if let Err(found) = checked {
                    problem = Some(LineProblem {
                        problem: found,
                        at_end: last && position + 1 == count,
                    });
                    return ControlFlow::Break(());
                }
            }
            verifier.add_movements(block.movements);
            ControlFlow::Continue(())
        },
    );
    finish(read, problem, verifier)
}

/// Verifies a CSV file laid out as the ledger writes it, on every core; `None` when some block is
/// not ([`crate::csv_scan`]): then nothing it found counts, and the caller verifies the file
/// with the general reader from a copy of the verifier taken before.
#[allow(clippy::result_large_err)]
pub(crate) fn check_canonical_csv(
    reader: impl Read + Send,
    verifier: &mut ExportVerifier,
    block_bytes: usize,
) -> Option<Result<(), LineProblem>> {
    let mut next_line = 1_u64;
    let mut problem = None;
    let mut canonical = true;
    // The last item of a block: the general reader closes a transaction only when it reads the
    // next transaction's first row, so it is checked only once the next block proved readable.
    let mut held: Option<(u64, ScannedItem)> = None;
    let mut section = CsvSection::default();
    let read = in_blocks(
        reader,
        block_bytes,
        |bytes: &[u8]| transaction_cut(bytes, bytes.len().saturating_sub(CSV_CUT_WINDOW)),
        |scanner: &mut CsvBlockScanner, block: &Block| {
            scanner.scan(&block.bytes, 0, block.starts_file)
        },
        |scanned: Option<ScannedBlock>, last| {
            let Some(scanned) = scanned else {
                canonical = false;
                return ControlFlow::Break(());
            };
            let first_line = next_line;
            next_line += scanned.lines;
            let items = held.take().into_iter().chain(
                scanned
                    .items
                    .into_iter()
                    .map(|(line, item)| (first_line + line, item)),
            );
            let mut items = items.peekable();
            while let Some(item) = items.next() {
                if items.peek().is_none() && !last {
                    held = Some(item);
                    break;
                }
                match section.take(verifier, item) {
                    None => {
                        canonical = false;
                        return ControlFlow::Break(());
                    }
                    Some(Err(found)) => {
                        problem = Some(LineProblem {
                            problem: found,
                            at_end: false,
                        });
                        return ControlFlow::Break(());
                    }
                    Some(Ok(())) => {}
                }
            }
            verifier.add_movements(scanned.movements);
            ControlFlow::Continue(())
        },
    );
    if !canonical {
        return None;
    }
    Some(finish(read, problem, verifier))
}

/// Where the fast CSV reader stands in a file's structure: transactions, then (in `SLJ2`) the
/// accounts section's rows and the row closing it, then the end row, which carries the section
/// to the verifier as the JSONL end record does.
#[derive(Debug, Default)]
struct CsvSection {
    /// The section's accounts, from its first row (or its closing row) on.
    accounts: Option<Vec<ExportAccount>>,
    /// The hash the closing `accounts` row states, once read.
    hash: Option<ChainHash>,
    ended: bool,
}

impl CsvSection {
    /// Checks the next item in file order; `None` when the rows are not in the order the ledger
    /// writes them (a transaction after the section, a section row after its closing row or the
    /// end row, account rows the end row does not close): the general reader names the problem.
    fn take(
        &mut self,
        verifier: &mut ExportVerifier,
        (line, item): (u64, ScannedItem),
    ) -> Option<Result<(), FileProblem>> {
        match item {
            ScannedItem::Record(digest) => {
                if self.accounts.is_some() {
                    return None;
                }
                Some(verifier.push_digest(line, &digest))
            }
            ScannedItem::Account(account) => {
                if self.hash.is_some() || self.ended {
                    return None;
                }
                self.accounts.get_or_insert_default().push(account);
                Some(Ok(()))
            }
            ScannedItem::SectionEnd(hash) => {
                if self.hash.is_some() || self.ended {
                    return None;
                }
                self.accounts.get_or_insert_default();
                self.hash = Some(hash);
                Some(Ok(()))
            }
            ScannedItem::End(mut end) => {
                match (self.accounts.take(), self.hash.take()) {
                    (accounts, Some(hash)) => {
                        end.accounts = Some(AccountsSection {
                            accounts: accounts.unwrap_or_default(),
                            hash,
                        });
                    }
                    (Some(_), None) => return None,
                    (None, None) => {}
                }
                self.ended = true;
                Some(verifier.push(line, &ExportItem::End(end)))
            }
        }
    }
}

/// The outcome of a parallel check: the first problem, else a read error, else success.
#[allow(clippy::result_large_err)]
fn finish(
    read: std::io::Result<()>,
    problem: Option<LineProblem>,
    verifier: &ExportVerifier,
) -> Result<(), LineProblem> {
    if let Some(problem) = problem {
        return Err(problem);
    }
    read.map_err(|error| LineProblem {
        problem: FileProblem::Malformed {
            line: 0,
            after_sequence: verifier.last_sequence(),
            message: format!("cannot read the file: {error}"),
        },
        at_end: false,
    })
}
