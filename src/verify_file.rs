//! `verify --file`: an export checked offline by `ledger_verify`, against a kept checkpoint when
//! one is given; what it proved, or the first break, in words.

use super::*;

/// Exit status of `verify --file` when the file is not an export at all, or an argument (a
/// checkpoint, a key) cannot be read; 1 is a break or a file that does not match the checkpoint.
pub(super) const EXIT_MALFORMED_FILE: u8 = 2;

/// Reads a checkpoint file: exactly the JSON object of `docs/hash-chain.md` ("Checkpoints").
pub(super) fn read_checkpoint(path: &Path) -> anyhow::Result<ledger_core::checkpoint::Checkpoint> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading the checkpoint {}", path.display()))?;
    serde_json::from_slice(bytes.trim_ascii())
        .with_context(|| format!("{} is not a checkpoint", path.display()))
}

/// A public key's text: the argument itself when it is 64 lower-case hex digits, else the
/// content of the file it names.
pub(super) fn public_key_text(argument: &str) -> anyhow::Result<String> {
    if argument.len() == 64 && argument.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Ok(argument.to_owned());
    }
    let text = std::fs::read_to_string(argument).with_context(|| {
        format!("--public-key {argument}: neither 64 hex digits nor a readable file")
    })?;
    Ok(text.trim().to_owned())
}

pub(super) fn verify_export_file(
    file: &Path,
    format: Option<ledger_core::export::ExportFormat>,
    from_sequence: Option<u64>,
    previous_hash: Option<ledger_core::ChainHash>,
    checkpoint: Option<&Path>,
    public_key: Option<&str>,
    expect_accounts: bool,
) -> anyhow::Result<ExitCode> {
    let format = format.or_else(|| ledger_verify::format_of(file)).with_context(|| {
        format!(
            "cannot tell the format of {} from its extension; pass --format jsonl or --format csv",
            file.display()
        )
    })?;
    let argument_error = |error: anyhow::Error| {
        eprintln!("error: {error:#}");
        Ok(ExitCode::from(EXIT_MALFORMED_FILE))
    };
    let checkpoint = match checkpoint.map(read_checkpoint).transpose() {
        Ok(checkpoint) => checkpoint,
        Err(error) => return argument_error(error),
    };
    let public_key = match public_key
        .map(public_key_text)
        .transpose()
        .and_then(|text| {
            text.map(|text| {
                ledger_core::checkpoint::parse_public_key_hex(&text).context("--public-key")
            })
            .transpose()
        }) {
        Ok(key) => key,
        Err(error) => return argument_error(error),
    };
    let mut verifier =
        ledger_verify::ExportVerifier::expecting_start(from_sequence.unwrap_or(1), previous_hash);
    if let Some(checkpoint) = &checkpoint {
        verifier = verifier.watching(checkpoint.sequence);
    }
    let summary = match ledger_verify::verify_file(file, format, verifier)? {
        Ok(summary) => summary,
        Err(problem) if problem.is_finding() => {
            println!("export BROKEN: {problem}");
            if let ledger_verify::FileProblem::StartMismatch {
                expected_sequence: 1,
                found_sequence,
                ..
            } = problem
                && from_sequence.is_none()
            {
                println!(
                    "(the file does not start at sequence 1: its first transactions are missing; if it is a range export, pass --from-sequence {found_sequence})"
                );
            }
            return Ok(ExitCode::FAILURE);
        }
        Err(problem) => {
            println!("export MALFORMED: {problem}");
            return Ok(ExitCode::from(EXIT_MALFORMED_FILE));
        }
    };
    if expect_accounts && summary.accounts_count.is_none() {
        println!(
            "export BROKEN: the file has no accounts section (it reads as SLJ1), but --expect-accounts was given: an SLJ2 export whose section was removed reads the same"
        );
        return Ok(ExitCode::FAILURE);
    }
    let Some(checkpoint) = checkpoint else {
        print!("{summary}");
        println!(
            "NOT PROVEN: this proves only that the file is consistent with itself, not that it is the ledger's history; pass --checkpoint with a head a partner kept (and --public-key) to prove that"
        );
        return Ok(ExitCode::SUCCESS);
    };
    if let Some(key) = &public_key
        && let Err(error) = checkpoint.verify(key)
    {
        println!("export BROKEN: {error}");
        return Ok(ExitCode::FAILURE);
    }
    if let Err(mismatch) = summary.check_head(checkpoint.sequence, checkpoint.chain_hash()) {
        println!("export BROKEN: {mismatch}");
        return Ok(ExitCode::FAILURE);
    }
    print!("{summary}");
    println!(
        "checkpoint: the file's chain hash after sequence {}, hash {}, matches the checkpoint signed at {} by key {}",
        checkpoint.sequence,
        checkpoint.chain_hash(),
        checkpoint.signed_at,
        checkpoint.key_id
    );
    if summary.accounts_count.is_some() {
        println!("{}", ledger_verify::verifier::CHECKPOINT_LEAVES_ACCOUNTS);
    }
    if public_key.is_some() {
        println!("signature: verified with the given public key");
    } else {
        println!(
            "signature NOT CHECKED: no --public-key was given, so who signed this checkpoint is unproven"
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn describe_break(kind: &ledger_core::chain::BreakKind) -> String {
    use ledger_core::chain::BreakKind;
    match kind {
        BreakKind::SequenceGap { expected_sequence } => {
            format!("sequence gap, expected sequence {expected_sequence}")
        }
        BreakKind::PreviousHashMismatch { expected, found } => {
            format!(
                "previous hash is {found}, but the transaction before ends the chain at {expected}"
            )
        }
        BreakKind::HashMismatch { expected, found } => format!(
            "stored hash {found} does not match the contents, which hash to {expected} (a hashed field was changed)"
        ),
        BreakKind::Unbalanced {
            currency,
            sum_minor,
        } => {
            format!("postings in {currency} sum to {sum_minor}, not zero")
        }
        other => format!("{other:?}"),
    }
}
