//! The README's walkthroughs run as written, so they cannot drift from what the service does.
//!
//! A walkthrough is a ```` ```sh ```` block of README.md preceded by `<!-- walkthrough: NAME -->`;
//! a ```` ```json ```` or ```` ```text ```` block preceded by `<!-- walkthrough-output: NAME -->` is
//! what walkthrough NAME prints (compared with ids and a signed checkpoint's values masked); what
//! the README's comments announce (amounts, the checkpoint served, the witness's lines) is checked
//! in the output of the walkthrough that prints it. The
//! test starts the built binary (`serve`) on a free port with a fresh data directory as its working
//! directory (so `./data` is the README's `./data`), then runs every walkthrough in README order in
//! one `bash` (later ones use the variables of earlier ones), with three changes, and nothing else:
//! - `set -euo pipefail` and `curl` made to fail on an error status (`--fail-with-body`), so every
//!   command must succeed;
//! - the line `L="cargo run -q --release --"` becomes `L="<the built binary>"` (the same program,
//!   without rebuilding it in release mode);
//! - `localhost:8080` becomes the server's address.
//!
//! `tools/` (the independent verifier) and `docs/` (the example bank statement) are linked into the
//! working directory, as a reader runs the walkthroughs from the repository's directory. It runs on
//! SQLite and on PostgreSQL (the test kit's database, given to the server and to the commands as
//! `DATABASE_URL`).
//!
//! The XML files the walkthroughs fetch or write (IATI, pain.001, the bank statement) are then
//! validated against the official schemas (`ledger_testkit::xsd`).
//!
//! Every other ```` ```sh ```` block of README.md is listed in `NOT_RUN` with why it is no
//! walkthrough (a server that runs until stopped, or the suite itself); a block neither marked nor
//! listed fails `every_sh_block_is_a_walkthrough_or_listed`, so a new command cannot slip in
//! untested.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ledger_testkit::xsd::{assert_valid, standard_schema};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_solidarity-ledger");
const README_LAUNCHER: &str = "L=\"cargo run -q --release --\"";
const README_ADDRESS: &str = "localhost:8080";

/// The ```` ```sh ```` blocks of README.md that are no walkthrough, by their first line, and why
/// (with what runs their commands instead).
const NOT_RUN: [(&str, &str); 3] = [
    (
        "cargo run --release -- serve",
        "the server, which runs until stopped: tests/binary.rs starts `serve` with no setup and \
         stops it, and this test starts it for the walkthroughs",
    ),
    (
        "scripts/test.sh",
        "the whole suite, of which this test is a part (CI runs it: .ci/run)",
    ),
    (
        "cargo run --release -- demo --data-dir ./demo-data",
        "the demo, then a server on its data, which runs until stopped: tests/demo.rs runs the \
         demo, and tests/files.rs serves its data",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_readme_walkthroughs_run_as_written() {
    // Proves every README walkthrough runs, command by command, against a fresh server on SQLite
    // and prints what the README says.
    run_walkthroughs(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_readme_walkthroughs_run_as_written() {
    // Proves the same on PostgreSQL.
    run_walkthroughs(Some(ledger_testkit::postgres_database().await.url)).await;
}

#[test]
fn every_sh_block_is_a_walkthrough_or_listed() {
    // Proves README.md has no ```sh block that is neither run as a walkthrough nor listed in
    // NOT_RUN with a reason, and that NOT_RUN lists no block the README no longer has.
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repository.join("README.md")).unwrap();
    assert_eq!(unlisted_sh_blocks(&readme), Vec::<String>::new());
}

#[test]
fn an_unmarked_sh_block_is_found() {
    // Proves the check above can fail: an unmarked, unlisted block is named by its first line, a
    // listed block missing from the file is named too, and marked blocks pass.
    let readme = "<!-- walkthrough: one -->\n```sh\necho run\n```\n\n```sh\ncurl -s new\n```\n\
                  ```json\n{}\n```\n";
    let problems = unlisted_sh_blocks(readme);
    assert!(
        problems.contains(
            &"a ```sh block is neither a walkthrough nor in NOT_RUN: `curl -s new`".to_owned()
        ),
        "{problems:?}"
    );
    assert!(
        problems.contains(
            &"NOT_RUN lists `scripts/test.sh`, which is no unmarked ```sh block of README.md"
                .to_owned()
        ),
        "{problems:?}"
    );
    assert_eq!(problems.len(), 1 + NOT_RUN.len(), "{problems:?}");
}

/// What breaks the rule that every ```sh block of `readme` is a walkthrough or in `NOT_RUN`: the
/// unmarked blocks not listed (by their first line), and the listed ones not found unmarked.
fn unlisted_sh_blocks(readme: &str) -> Vec<String> {
    let mut unmarked = Vec::new();
    let mut previous = "";
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let fence = line.trim();
        if fence.starts_with("```") {
            let body: Vec<&str> = lines
                .by_ref()
                .take_while(|line| line.trim() != "```")
                .collect();
            let marked = previous.trim().starts_with("<!-- walkthrough: ");
            if fence == "```sh" && !marked {
                unmarked.push(body.first().copied().unwrap_or_default().trim());
            }
            previous = "```";
            continue;
        }
        previous = line;
    }
    let mut problems = Vec::new();
    for first_line in &unmarked {
        if !NOT_RUN.iter().any(|(listed, _)| listed == first_line) {
            problems.push(format!(
                "a ```sh block is neither a walkthrough nor in NOT_RUN: `{first_line}`"
            ));
        }
    }
    for (listed, _why) in NOT_RUN {
        if !unmarked.contains(&listed) {
            problems.push(format!(
                "NOT_RUN lists `{listed}`, which is no unmarked ```sh block of README.md"
            ));
        }
    }
    problems
}

/// The blocks opening with one of `fences` (e.g. "sh") each preceded by `<!-- MARKER: NAME -->`,
/// in README order.
fn marked_blocks(readme: &str, marker: &str, fences: &[&str]) -> Vec<(String, String)> {
    let prefix = format!("<!-- {marker}: ");
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim()
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let opening = lines.next().unwrap_or_default();
        assert!(
            fences
                .iter()
                .any(|fence| opening.trim() == format!("```{fence}")),
            "the block after `{line}` must open with ``` and one of {fences:?}"
        );
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|line| line.trim() != "```")
            .collect();
        blocks.push((name.to_owned(), body.join("\n")));
    }
    blocks
}

/// Replaces every UUID (8-4-4-4-12 hex digits) by `<uuid>`: ids differ from run to run.
fn without_uuids(text: &str) -> String {
    let shape = [8, 4, 4, 4, 12];
    let length = 36;
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < bytes.len() {
        let candidate = bytes.get(at..at + length);
        let is_uuid = candidate.is_some_and(|candidate| {
            let mut offset = 0;
            shape.iter().enumerate().all(|(index, &group)| {
                let digits = candidate[offset..offset + group]
                    .iter()
                    .all(u8::is_ascii_hexdigit);
                offset += group;
                let dash = index == shape.len() - 1 || candidate[offset] == b'-';
                offset += 1;
                digits && dash
            })
        });
        if is_uuid {
            out.push_str("<uuid>");
            at += length;
        } else {
            let character = text[at..].chars().next().unwrap();
            out.push(character);
            at += character.len_utf8();
        }
    }
    out
}

/// Kills the server when the test ends, passing or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A command of the binary or bash with the environment of a README reader: no inherited settings
/// of this service, and the database given (PostgreSQL) or the default `./data` (SQLite).
fn reader_command(program: &str, directory: &Path, database_url: Option<&str>) -> Command {
    let mut command = Command::new(program);
    command.current_dir(directory);
    for variable in [
        "DATABASE_URL",
        "SOLIDARITY_DATA_DIR",
        "SOLIDARITY_BIND",
        "SOLIDARITY_JWT_SECRET",
        "SOLIDARITY_JWT_PUBLIC_KEY_FILE",
        "SOLIDARITY_REQUEST_TIMEOUT_SECONDS",
    ] {
        command.env_remove(variable);
    }
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command
}

async fn run_walkthroughs(database_url: Option<String>) {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repository.join("README.md")).unwrap();
    let walkthroughs = marked_blocks(&readme, "walkthrough", &["sh"]);
    let names: Vec<&str> = walkthroughs.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "first-session",
            "paying",
            "tracing",
            "iati",
            "payment-file",
            "spreadsheets",
            "bank-statement",
            "audit",
            "checkpoints",
            "witness",
            "checkpoint"
        ]
    );
    let samples = marked_blocks(&readme, "walkthrough-output", &["json", "text"]);

    let directory = tempfile::tempdir().unwrap();
    for linked in ["tools", "docs"] {
        std::os::unix::fs::symlink(repository.join(linked), directory.path().join(linked)).unwrap();
    }
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let server_log = std::fs::File::create(directory.path().join("server.log")).unwrap();
    let _server = Server(
        reader_command(BINARY, directory.path(), database_url.as_deref())
            .args(["serve", "--bind", &address])
            .stdout(Stdio::null())
            .stderr(server_log)
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..600 {
        if let Ok(response) = client.get(format!("http://{address}/readyz")).send().await
            && response.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = || std::fs::read_to_string(directory.path().join("server.log")).unwrap_or_default();
    assert!(ready, "the server did not become ready: {}", log());

    let mut script = String::from(
        "set -euo pipefail\ncurl() { command curl --fail-with-body --show-error \"$@\"; }\n",
    );
    for (name, block) in &walkthroughs {
        assert!(
            !block.contains("localhost:") || block.contains(README_ADDRESS),
            "{name}: the walkthroughs speak to {README_ADDRESS}"
        );
        let mut block = block.replace(README_ADDRESS, &address);
        if block.contains(README_LAUNCHER) {
            block = block.replace(README_LAUNCHER, &format!("L=\"{BINARY}\""));
        }
        script.push_str(&format!("printf '\\n@@walkthrough {name}@@\\n'\n{block}\n"));
    }
    assert!(
        script.contains(&format!("L=\"{BINARY}\"")),
        "the first walkthrough defines {README_LAUNCHER}"
    );
    let output = reader_command("bash", directory.path(), database_url.as_deref())
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "a walkthrough failed ({}).\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server\n{}",
        output.status,
        log()
    );
    // The XML files the walkthroughs fetched or wrote are valid against the official schemas.
    for (file, schema) in [
        ("activity.xml", "iati/iati-activities-schema.xsd"),
        ("organisation.xml", "iati/iati-organisations-schema.xsd"),
        ("pain.001.xml", "pain.001.001.09.xsd"),
        ("camt053.xml", "camt.053.001.08.xsd"),
    ] {
        let xml = std::fs::read(directory.path().join(file)).unwrap();
        assert_valid(&xml, &standard_schema(schema));
    }
    let mut printed = std::collections::BTreeMap::new();
    for part in stdout.split("\n@@walkthrough ").skip(1) {
        let (name, text) = part.split_once("@@\n").unwrap();
        printed.insert(name.to_owned(), text.to_owned());
    }
    let printed_by = |name: &str| printed.get(name).cloned().unwrap_or_default();

    // Key figures the README announces in its comments.
    let first = printed_by("first-session");
    assert!(
        first.contains(r#""pool":{"amount":"1250.00","currency":"EUR"}"#),
        "balances.pool = 1250.00: {first}"
    );
    assert!(first.contains(r#""status":"pledged""#), "{first}");
    let paying = printed_by("paying");
    assert!(
        paying.contains(r#""expected_local":{"amount":"819946","currency":"XOF"}"#),
        "expected_local = 819946 XOF: {paying}"
    );
    assert!(paying.contains(r#""status":"settled""#), "{paying}");
    let spreadsheets = printed_by("spreadsheets");
    let printed_reference = spreadsheets
        .trim()
        .strip_prefix("1575.50 ")
        .unwrap_or_else(|| panic!("the sheet's batch totals 1575.50: {spreadsheets}"));
    assert!(
        ledger_core::payment_reference::CreditorReference::parse(printed_reference).is_ok(),
        "a creditor reference with valid check digits: {spreadsheets}"
    );
    let audit = printed_by("audit");
    assert!(audit.contains(r#""valid":true"#), "{audit}");
    assert!(audit.contains(r#""basis":"effective_date""#), "{audit}");
    // Both verifiers check the CSV export against the kept checkpoint and its signature.
    let checkpoint = printed_by("checkpoint");
    assert_eq!(
        checkpoint
            .matches("matches the checkpoint signed at")
            .count(),
        2,
        "{checkpoint}"
    );
    assert_eq!(
        checkpoint
            .matches("signature: verified with the given public key")
            .count(),
        2,
        "{checkpoint}"
    );
    // The key, the latest checkpoint and the history are served as the README's comments show
    // them: the latest is signed with the served key and is the history's last.
    let checkpoints = printed_by("checkpoints");
    let served: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&checkpoints)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|error| panic!("three JSON documents ({error}): {checkpoints}"));
    let [key, latest, history] = served.as_slice() else {
        panic!("the key, the latest checkpoint and the history: {checkpoints}");
    };
    let hex = |value: &serde_json::Value, digits: usize| {
        value.as_str().is_some_and(|text| {
            text.len() == digits && text.bytes().all(|byte| byte.is_ascii_hexdigit())
        })
    };
    assert_eq!(key["algorithm"], "Ed25519", "{checkpoints}");
    assert!(hex(&key["public_key"], 64), "{checkpoints}");
    assert!(hex(&key["key_id"], 16), "{checkpoints}");
    assert_eq!(latest["key_id"], key["key_id"], "{checkpoints}");
    assert!(hex(&latest["hash"], 64), "{checkpoints}");
    assert!(hex(&latest["signature"], 128), "{checkpoints}");
    assert!(
        latest["signed_at"]
            .as_str()
            .is_some_and(|at| at.ends_with('Z')),
        "{checkpoints}"
    );
    assert_eq!(
        history["checkpoints"].as_array().and_then(|all| all.last()),
        Some(latest)
    );
    // The witness keeps the latest head (the run's execution, sequence 4, as the README shows),
    // then, run again, finds the head unchanged: the chain moved since (the confirmation, the
    // December batch, the statement's receipt), but no checkpoint is signed before the next
    // execution or --checkpoint-interval-seconds (600) after the server started.
    let witness = printed_by("witness");
    let (sequence, hash) = (&latest["sequence"], latest["hash"].as_str().unwrap());
    assert_eq!(sequence, 4, "{checkpoints}");
    assert_eq!(
        witness.lines().collect::<Vec<_>>(),
        [
            format!("first head kept: sequence {sequence}, hash {hash}"),
            format!("unchanged: head at sequence {sequence}, hash {hash}")
        ],
        "{witness}"
    );
    // Samples of output are what the commands print, ids aside.
    assert!(!samples.is_empty(), "the README shows a sample of output");
    for (name, sample) in &samples {
        assert_eq!(
            without_signed_values(&without_uuids(printed_by(name).trim())),
            without_signed_values(&without_uuids(sample.trim())),
            "the README's sample of `{name}` is not what its commands print"
        );
    }
}

/// Replaces what differs from run to run in a JSON sample's signed `checkpoint` (the chain hash,
/// which covers ids and times, the signing time, the key and the signature) by placeholders,
/// after checking each is there; its sequence stays compared.
fn without_signed_values(text: &str) -> String {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) else {
        return text.to_owned();
    };
    if let Some(checkpoint) = value
        .get_mut("checkpoint")
        .and_then(|checkpoint| checkpoint.as_object_mut())
    {
        for field in ["hash", "signed_at", "key_id", "signature"] {
            let present = checkpoint.get(field).is_some_and(|value| value.is_string());
            assert!(present, "a checkpoint carries its {field}: {text}");
            checkpoint.insert(field.to_owned(), format!("<{field}>").into());
        }
    }
    serde_json::to_string_pretty(&value).unwrap()
}

#[test]
fn uuids_are_masked_and_nothing_else() {
    // Proves the sample comparison masks ids only.
    assert_eq!(
        without_uuids(r#"{"id": "019af0c2-6f3e-7c41-9a8e-0b6a2f1d3c4e", "n": "1250.00-é"}"#),
        r#"{"id": "<uuid>", "n": "1250.00-é"}"#
    );
    assert_eq!(
        without_uuids("019af0c2-6f3e-7c41-9a8e-0b6a2f1d3c4"),
        "019af0c2-6f3e-7c41-9a8e-0b6a2f1d3c4"
    );
}
