//! `export`: writes the journal from the database to an auditors' export file (the format is
//! `ledger_core::export`'s; `verify --file` reads one back with the `ledger-verify` crate).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ledger_core::ChainHash;
use ledger_core::export::{ExportFormat, ExportWriter};
use ledger_store::Store;

/// Bytes buffered between the renderer and the file.
const FILE_BUFFER_BYTES: usize = 1024 * 1024;

/// What an export wrote.
#[derive(Debug)]
pub struct ExportOutcome {
    pub transactions_count: u64,
    pub bytes: u64,
    pub last_sequence: Option<u64>,
    pub final_hash: Option<ChainHash>,
    /// The signed checkpoint the file can be verified against, written beside it: its sequence
    /// and the file it was written to.
    pub checkpoint: Option<(u64, PathBuf)>,
}

/// Where the checkpoint of an export to `output` is written: `<output>.checkpoint.json`.
pub fn checkpoint_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".checkpoint.json");
    PathBuf::from(name)
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

    // Read after the head: every account a posting up to `last` names is among them (SLJ2).
    let accounts = store.all_accounts().await.context("reading the accounts")?;
    let mut writer = ExportWriter::new(format).with_accounts(&accounts);
    let mut buffer = Vec::with_capacity(FILE_BUFFER_BYTES);
    let mut outcome = ExportOutcome {
        transactions_count: 0,
        bytes: 0,
        last_sequence: None,
        final_hash: None,
        checkpoint: None,
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
    // The highest checkpoint the file reaches, if not before the range's start (whose previous
    // hash a range chains onto): `verify --file F --checkpoint F.checkpoint.json` checks it.
    let checkpoint = store
        .checkpoint_at_or_before(last)
        .await
        .context("reading the checkpoints")?
        .filter(|stored| stored.checkpoint.sequence + 1 >= from_sequence);
    if let Some(stored) = checkpoint {
        let path = checkpoint_path(output);
        let mut json = serde_json::to_string(&stored.checkpoint)?;
        json.push('\n');
        std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
        outcome.checkpoint = Some((stored.checkpoint.sequence, path));
    }
    Ok(outcome)
}
