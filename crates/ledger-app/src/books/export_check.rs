//! An export file checked by the service (an auditor's upload in the portal): the very
//! verification `solidarity-ledger verify --file` runs ([`ledger_verify`], the same readers and
//! checks), and, when the auditor names one of the ledger's signed checkpoints, the proof that the
//! file's history up to it is the one the checkpoint was signed over. The answer says which of the
//! two the file proves: only that it is consistent with itself, or that it matches checkpoint N.

use ledger_core::export::ExportFormat;
use ledger_verify::{ExportVerifier, verify_bytes};
use serde::Serialize;

use crate::checkpoints::CheckpointView;
use crate::error::{AppError, FieldError};
use crate::policy::Operation;
use crate::runner::Query;
use crate::{App, Caller};

/// A file to verify.
#[derive(Debug)]
pub struct VerifyExportFile {
    /// The file's bytes (the door bounds their size).
    pub bytes: Vec<u8>,
    /// `jsonl` or `csv`.
    pub format: String,
    /// The sequence of a signed checkpoint to check the file against; none: the file alone.
    pub checkpoint: Option<String>,
}

/// What the file proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFileVerdict {
    /// A valid export, consistent with itself: not yet proven to be the ledger's history.
    SelfConsistent,
    /// A valid export whose chain hash after the checkpoint's sequence is the signed one.
    MatchesCheckpoint,
    /// A valid file that breaks the chain, or does not match the checkpoint.
    Broken,
    /// Not an export at all (unreadable lines, a file cut short…).
    Malformed,
}

/// The verification's answer.
#[derive(Debug, Serialize)]
pub struct ExportFileCheck {
    pub verdict: ExportFileVerdict,
    pub transactions_count: u64,
    pub postings_count: u64,
    pub first_sequence: Option<u64>,
    pub last_sequence: Option<u64>,
    /// Hex; none for a file without transactions or one that did not verify.
    pub final_hash: Option<String>,
    /// The checkpoint the file was checked against.
    pub checkpoint: Option<CheckpointView>,
    /// What is wrong, in the verifier's words (as `verify --file` prints it).
    pub problem: Option<String>,
}

impl ExportFileCheck {
    fn refused(verdict: ExportFileVerdict, problem: String) -> ExportFileCheck {
        ExportFileCheck {
            verdict,
            transactions_count: 0,
            postings_count: 0,
            first_sequence: None,
            last_sequence: None,
            final_hash: None,
            checkpoint: None,
            problem: Some(problem),
        }
    }
}

impl Query for VerifyExportFile {
    const OPERATION: Operation = Operation::VerifyExportFile;
    type Output = ExportFileCheck;

    async fn read(self, app: &App, _caller: &Caller) -> Result<ExportFileCheck, AppError> {
        let mut errors = Vec::new();
        let format = ExportFormat::parse(&self.format);
        if format.is_none() {
            errors.push(FieldError::new("format", "must be `jsonl` or `csv`"));
        }
        let sequence = match self.checkpoint.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let sequence = text.parse::<u64>().ok();
                if sequence.is_none() {
                    errors.push(FieldError::new("checkpoint", "must be a sequence number"));
                }
                sequence
            }
        };
        let stored = match sequence {
            Some(sequence) => {
                let stored = app
                    .store
                    .checkpoint_at_or_before(sequence)
                    .await?
                    .filter(|stored| stored.checkpoint.sequence == sequence);
                if stored.is_none() {
                    errors.push(FieldError::new(
                        "checkpoint",
                        "no checkpoint was signed at this sequence",
                    ));
                }
                stored
            }
            None => None,
        };
        let Some(format) = format.filter(|_| errors.is_empty()) else {
            return Err(AppError::validation(errors));
        };
        let mut verifier = ExportVerifier::new();
        if let Some(stored) = &stored {
            verifier = verifier.watching(stored.checkpoint.sequence);
        }
        let bytes = self.bytes;
        // The readers use every core: off the async workers.
        let outcome = tokio::task::spawn_blocking(move || verify_bytes(&bytes, format, verifier))
            .await
            .map_err(AppError::internal)?;
        let summary = match outcome {
            Ok(summary) => summary,
            Err(problem) => {
                let verdict = if problem.is_finding() {
                    ExportFileVerdict::Broken
                } else {
                    ExportFileVerdict::Malformed
                };
                return Ok(ExportFileCheck::refused(verdict, problem.to_string()));
            }
        };
        let mut check = ExportFileCheck {
            verdict: ExportFileVerdict::SelfConsistent,
            transactions_count: summary.transactions_count,
            postings_count: summary.postings_count,
            first_sequence: summary.first_sequence,
            last_sequence: summary.last_sequence,
            final_hash: summary.final_hash.map(|hash| hash.to_string()),
            checkpoint: None,
            problem: None,
        };
        if let Some(stored) = stored {
            let checkpoint = &stored.checkpoint;
            check.checkpoint = Some(CheckpointView::from(checkpoint));
            let proven = checkpoint
                .verify(&stored.public_key)
                .map_err(|error| error.to_string())
                .and_then(|()| {
                    summary
                        .check_head(checkpoint.sequence, checkpoint.chain_hash())
                        .map_err(|mismatch| mismatch.to_string())
                });
            match proven {
                Ok(()) => check.verdict = ExportFileVerdict::MatchesCheckpoint,
                Err(problem) => {
                    check.verdict = ExportFileVerdict::Broken;
                    check.problem = Some(problem);
                }
            }
        }
        Ok(check)
    }
}
