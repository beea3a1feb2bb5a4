//! Verifying an export file on every core: one thread reads the file in blocks of whole lines (or,
//! for CSV, whole transactions), worker threads parse, hash and tally each block, and the calling
//! thread checks the chain in file order from their digests.

use std::io::Read;
use std::ops::ControlFlow;
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};

use ledger_core::Movements;
use ledger_core::csv_scan::{CsvBlockScanner, ScannedBlock, transaction_cut};
use ledger_core::export::{
    DigestedLine, ExportItem, ExportVerifier, FileProblem, digest_jsonl_line,
};
use ledger_core::jsonl_scan::JsonlScanner;

use crate::audit_file::LineProblem;

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
pub fn check_jsonl(
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
/// not ([`ledger_core::csv_scan`]): then nothing it found counts, and the caller verifies the file
/// with the general reader from a copy of the verifier taken before.
#[allow(clippy::result_large_err)]
pub fn check_canonical_csv(
    reader: impl Read + Send,
    verifier: &mut ExportVerifier,
    block_bytes: usize,
) -> Option<Result<(), LineProblem>> {
    let mut next_line = 1_u64;
    let mut problem = None;
    let mut canonical = true;
    // The last item of a block: the general reader closes a transaction only when it reads the
    // next transaction's first row, so it is checked only once the next block proved readable.
    let mut held: Option<(u64, DigestedLine)> = None;
    let check = |verifier: &mut ExportVerifier, (line, item): (u64, DigestedLine)| match item {
        DigestedLine::Record(digest) => verifier.push_digest(line, &digest),
        DigestedLine::End(end) => verifier.push(line, &ExportItem::End(end)),
    };
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
                if let Err(found) = check(verifier, item) {
                    problem = Some(LineProblem {
                        problem: found,
                        at_end: false,
                    });
                    return ControlFlow::Break(());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit_file::{VerifyOptions, verify_file_with};
    use ledger_core::export::{ExportFormat, ExportWriter};
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
        let directory = tempfile::tempdir().unwrap();
        let parallel = VerifyOptions {
            block_bytes: 300,
            general_csv_reader_only: false,
        };
        let general = VerifyOptions {
            general_csv_reader_only: true,
            ..parallel
        };
        let mut problems = 0;
        for copy in damaged(&bytes) {
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
