//! `solidarity-ledger witness`: a partner's check that the ledger only ever grows. It pins the
//! service's checkpoint key, fetches the latest signed checkpoint, checks its signature and that it
//! extends the head kept from the last run (from the chain links the service serves), then keeps
//! the new head. A rollback, a fork, a rewritten history, a bad signature or a changed key is a
//! loud failure (exit 1) printing both heads, and is recorded in the store as evidence.
//!
//! The store directory holds `public-key` (the pinned key), `head.json` (the kept checkpoint),
//! `checkpoints.jsonl` (every head accepted, oldest first) and `conflicts.jsonl` (every failure,
//! with both signed heads).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use ledger_core::checkpoint::{
    ChainLink, Checkpoint, ExtensionCheck, VerifyingKey, key_id, parse_public_key_hex,
    public_key_hex,
};
use serde::Deserialize;

/// Exit status when the ledger failed a check: the evidence is printed.
const EXIT_FINDING: u8 = 1;
/// Exit status when the witness could not check (network, a malformed answer, its own store).
const EXIT_CANNOT_CHECK: u8 = 2;

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The most links one consistency request asks for (the service's own limit).
const LINKS_PER_REQUEST: u64 = 10_000;

/// What the ledger did wrong.
#[derive(Debug)]
enum Finding {
    KeyChanged {
        pinned: String,
        served: String,
    },
    BadSignature {
        detail: String,
        kept: Option<Checkpoint>,
        served: Checkpoint,
    },
    /// The service shows no checkpoint at all, but one was kept.
    Vanished {
        kept: Checkpoint,
    },
    Inconsistent {
        detail: String,
        kept: Checkpoint,
        served: Checkpoint,
    },
}

#[derive(Debug, Deserialize)]
struct PublicKeyAnswer {
    public_key: String,
    key_id: String,
}

#[derive(Debug, Deserialize)]
struct ConsistencyAnswer {
    links: Vec<ChainLink>,
}

/// Runs one witness check; the exit status says how it went.
pub async fn run(url: &str, store: &Path, expected_key: Option<&str>) -> ExitCode {
    match witness(url, store, expected_key).await {
        Ok(Ok(message)) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Ok(Err(finding)) => {
            report(&finding);
            if let Err(error) = record_conflict(store, &finding) {
                eprintln!("error: could not record the conflict in the store: {error:#}");
            }
            ExitCode::from(EXIT_FINDING)
        }
        Err(error) => {
            eprintln!("error: the witness could not check the ledger: {error:#}");
            ExitCode::from(EXIT_CANNOT_CHECK)
        }
    }
}

async fn witness(
    url: &str,
    store: &Path,
    expected_key: Option<&str>,
) -> anyhow::Result<Result<String, Finding>> {
    let base = url.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .context("starting the HTTP client")?;
    std::fs::create_dir_all(store).with_context(|| format!("creating {}", store.display()))?;
    let files = StoreFiles::new(store);

    // The key: served, compared with the pinned (or expected) one.
    let answer: PublicKeyAnswer = get_json(&client, &format!("{base}/v1/checkpoints/public-key"))
        .await?
        .context("the service publishes no checkpoint key")?;
    let served_key = parse_public_key_hex(&answer.public_key)
        .map_err(|error| anyhow::anyhow!("the served public key: {error}"))?;
    if answer.key_id != key_id(&served_key) {
        bail!(
            "the service names key id {} for a key whose id is {}",
            answer.key_id,
            key_id(&served_key)
        );
    }
    let pinned = files.pinned_key()?;
    let expected = expected_key
        .map(|text| {
            parse_public_key_hex(text.trim())
                .map_err(|error| anyhow::anyhow!("--public-key: {error}"))
        })
        .transpose()?;
    if let (Some(pinned), Some(expected)) = (&pinned, &expected)
        && pinned != expected
    {
        bail!(
            "--public-key {} is not the key pinned in {} ({})",
            key_id(expected),
            files.public_key.display(),
            key_id(pinned)
        );
    }
    let mut pinned_now = None;
    let key = match pinned.or(expected) {
        Some(trusted) if trusted != served_key => {
            return Ok(Err(Finding::KeyChanged {
                pinned: public_key_hex(&trusted),
                served: public_key_hex(&served_key),
            }));
        }
        Some(trusted) => trusted,
        None => {
            pinned_now = Some(key_id(&served_key));
            served_key
        }
    };
    if files.pinned_key()?.is_none() {
        write_atomically(&files.public_key, &format!("{}\n", public_key_hex(&key)))?;
    }

    // The kept head, checked again: the store is the witness's own evidence.
    let kept = files.kept_head()?;
    if let Some(kept) = &kept
        && let Err(error) = kept.verify(&key)
    {
        bail!(
            "the head kept in {} does not verify with the pinned key: {error}",
            files.head.display()
        );
    }

    let Some(served) =
        get_json::<Checkpoint>(&client, &format!("{base}/v1/checkpoints/latest")).await?
    else {
        return Ok(match kept {
            Some(kept) => Err(Finding::Vanished { kept }),
            None => Ok("no checkpoint signed yet: nothing to witness".to_owned()),
        });
    };
    if let Err(error) = served.verify(&key) {
        return Ok(Err(Finding::BadSignature {
            detail: error.to_string(),
            kept,
            served,
        }));
    }

    let Some(kept) = kept else {
        files.keep(&served)?;
        let pinned = pinned_now
            .map(|id| format!("; pinned key {id} on first use"))
            .unwrap_or_default();
        return Ok(Ok(format!(
            "first head kept: sequence {}, hash {}{pinned}",
            served.sequence,
            served.chain_hash()
        )));
    };
    let mut check = match ExtensionCheck::new(kept.head(), served.head()) {
        Ok(check) => check,
        Err(error) => {
            return Ok(Err(Finding::Inconsistent {
                detail: error.to_string(),
                kept,
                served,
            }));
        }
    };
    while let Some(next) = check.next_sequence() {
        let from = next - 1;
        let to = served.sequence.min(from.saturating_add(LINKS_PER_REQUEST));
        let answer: ConsistencyAnswer = get_json(
            &client,
            &format!("{base}/v1/checkpoints/consistency?from_sequence={from}&to_sequence={to}"),
        )
        .await?
        .context("the service serves no chain segment")?;
        for link in &answer.links {
            if let Err(error) = check.link(link) {
                return Ok(Err(Finding::Inconsistent {
                    detail: error.to_string(),
                    kept,
                    served,
                }));
            }
        }
        if answer.links.is_empty() {
            break;
        }
    }
    if let Err(error) = check.finish() {
        return Ok(Err(Finding::Inconsistent {
            detail: error.to_string(),
            kept,
            served,
        }));
    }
    if served.sequence == kept.sequence {
        return Ok(Ok(format!(
            "unchanged: head at sequence {}, hash {}",
            served.sequence,
            served.chain_hash()
        )));
    }
    files.keep(&served)?;
    Ok(Ok(format!(
        "ok: head at sequence {} (hash {}) extends the kept head at sequence {} (hash {})",
        served.sequence,
        served.chain_hash(),
        kept.sequence,
        kept.chain_hash()
    )))
}

/// GETs JSON; `None` for 404.
async fn get_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
) -> anyhow::Result<Option<T>> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let body = response
        .bytes()
        .await
        .with_context(|| format!("GET {url}: reading the answer"))?;
    if !status.is_success() {
        bail!(
            "GET {url}: {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(500)])
        );
    }
    serde_json::from_slice(&body)
        .map(Some)
        .with_context(|| format!("GET {url}: not the expected JSON"))
}

fn report(finding: &Finding) {
    let json = |checkpoint: &Checkpoint| serde_json::to_string(checkpoint).unwrap_or_default();
    match finding {
        Finding::KeyChanged { pinned, served } => {
            println!("WITNESS FAILURE: the checkpoint key CHANGED");
            println!("  pinned key: {pinned} (key id {})", id_of_hex(pinned));
            println!("  served key: {served} (key id {})", id_of_hex(served));
        }
        Finding::BadSignature {
            detail,
            kept,
            served,
        } => {
            println!("WITNESS FAILURE: BAD SIGNATURE on the served checkpoint: {detail}");
            match kept {
                Some(kept) => println!("  kept head:   {}", json(kept)),
                None => println!("  kept head:   none"),
            }
            println!("  served head: {}", json(served));
        }
        Finding::Vanished { kept } => {
            println!(
                "WITNESS FAILURE: ROLLBACK: the service shows no checkpoint, but a head at sequence {} was kept",
                kept.sequence
            );
            println!("  kept head:   {}", json(kept));
            println!("  served head: none");
        }
        Finding::Inconsistent {
            detail,
            kept,
            served,
        } => {
            println!("WITNESS FAILURE: {}", shout(detail));
            println!("  kept head:   {}", json(kept));
            println!("  served head: {}", json(served));
        }
    }
}

/// The failure's name in capitals ("ROLLBACK: ...", "FORK: ...", "REWRITTEN HISTORY at ...").
fn shout(detail: &str) -> String {
    for name in ["rollback", "fork", "rewritten history"] {
        if let Some(rest) = detail.strip_prefix(name) {
            return format!("{}{rest}", name.to_uppercase());
        }
    }
    detail.to_owned()
}

fn id_of_hex(text: &str) -> String {
    parse_public_key_hex(text)
        .map(|key| key_id(&key))
        .unwrap_or_else(|_| "?".to_owned())
}

fn record_conflict(store: &Path, finding: &Finding) -> anyhow::Result<()> {
    let value = match finding {
        Finding::KeyChanged { pinned, served } => serde_json::json!({
            "finding": "key_changed", "pinned_key": pinned, "served_key": served,
        }),
        Finding::BadSignature {
            detail,
            kept,
            served,
        } => serde_json::json!({
            "finding": "bad_signature", "detail": detail, "kept": kept, "served": served,
        }),
        Finding::Vanished { kept } => serde_json::json!({
            "finding": "vanished", "kept": kept, "served": null,
        }),
        Finding::Inconsistent {
            detail,
            kept,
            served,
        } => serde_json::json!({
            "finding": "inconsistent", "detail": detail, "kept": kept, "served": served,
        }),
    };
    append_line(&StoreFiles::new(store).conflicts, &value.to_string())
}

/// The files of a witness store.
struct StoreFiles {
    public_key: PathBuf,
    head: PathBuf,
    history: PathBuf,
    conflicts: PathBuf,
}

impl StoreFiles {
    fn new(store: &Path) -> StoreFiles {
        StoreFiles {
            public_key: store.join("public-key"),
            head: store.join("head.json"),
            history: store.join("checkpoints.jsonl"),
            conflicts: store.join("conflicts.jsonl"),
        }
    }

    fn pinned_key(&self) -> anyhow::Result<Option<VerifyingKey>> {
        match std::fs::read_to_string(&self.public_key) {
            Ok(text) => parse_public_key_hex(text.trim())
                .map(Some)
                .map_err(|error| anyhow::anyhow!("{}: {error}", self.public_key.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => {
                Err(error).with_context(|| format!("reading {}", self.public_key.display()))
            }
        }
    }

    fn kept_head(&self) -> anyhow::Result<Option<Checkpoint>> {
        match std::fs::read(&self.head) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .with_context(|| format!("reading the kept head {}", self.head.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).with_context(|| format!("reading {}", self.head.display())),
        }
    }

    /// Keeps `checkpoint` as the head and adds it to the history.
    fn keep(&self, checkpoint: &Checkpoint) -> anyhow::Result<()> {
        let json = serde_json::to_string(checkpoint)?;
        append_line(&self.history, &json)?;
        write_atomically(&self.head, &format!("{json}\n"))
    }
}

/// Replaces `path` with `contents` at once (a crash leaves the old file or the new one).
fn write_atomically(path: &Path, contents: &str) -> anyhow::Result<()> {
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::File::create(&temporary)
        .with_context(|| format!("creating {}", temporary.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))
}

fn append_line(path: &Path, line: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{line}")?;
    file.sync_all()?;
    Ok(())
}
