//! The offline verifier of an export: it takes a file's records in order (whole, or digested by
//! the fast readers) and checks the chain, where the file starts, the end record and, on request,
//! the chain hash at a signed head; it tallies the trial balance. [`FileProblem`] is what it finds.

use std::collections::BTreeMap;
use std::fmt;

use ledger_core::chain::{
    ChainBreak, ChainHash, ChainVerifier, GENESIS_HASH, JournalRecord, Movements, RecordDigest,
};
use ledger_core::export::{ExportEnd, ExportItem, check_accounts_section};
use serde::Serialize;
use uuid::Uuid;

/// What a summary says of a file without an accounts section (`SLJ1`), the same words in both
/// verifiers: such a file does not name its accounts, and cannot be told from an `SLJ2` export
/// whose section was removed.
pub const NO_ACCOUNTS_SECTION: &str = "accounts section: none (SLJ1): the file does not name its accounts, and reads the same as an SLJ2 export whose section was removed; pass --expect-accounts to refuse such a file";

/// What a verifier says of the accounts section once the file matched a checkpoint: what the
/// signature covers and what it does not.
pub const CHECKPOINT_LEAVES_ACCOUNTS: &str = "the checkpoint's signature covers the transactions up to its sequence, not the accounts section: names, codes, kinds and owners are the exporter's statement, bound to this file's final hash by the exporter, and each id to its code only where it is derived (UUIDv5)";

/// Why an export file cannot be read or does not verify. `Malformed` is a file that is not an
/// export at all at some line; every other variant is a finding about an export's contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileProblem {
    /// A line that is not an export record. `after_sequence` is the last transaction read before it.
    #[error("line {line} (after sequence {}): not a valid export record: {message}", display_sequence(*.after_sequence))]
    Malformed {
        line: u64,
        after_sequence: Option<u64>,
        message: String,
    },
    /// The chain breaks at a transaction.
    #[error("line {line}: {broken}")]
    Chain { line: u64, broken: ChainBreak },
    /// The CSV rows of one transaction disagree with one another.
    #[error("line {line}: the rows of sequence {sequence} disagree: {what}")]
    RowsDisagree {
        line: u64,
        sequence: u64,
        what: String,
    },
    /// The file stops without its end record (cut short).
    #[error("the file is truncated: it stops after sequence {} without the export's end record", display_sequence(*.after_sequence))]
    Truncated { after_sequence: Option<u64> },
    /// The end record names another last transaction than the file holds.
    #[error("line {line}: the end record says the export ends at sequence {} with hash {}, but the file ends at sequence {} with hash {}", display_sequence(*.end_sequence), display_hash(*.end_hash), display_sequence(*.file_sequence), display_hash(*.file_hash))]
    EndMismatch {
        line: u64,
        end_sequence: Option<u64>,
        end_hash: Option<ChainHash>,
        file_sequence: Option<u64>,
        file_hash: Option<ChainHash>,
    },
    /// Something follows the end record.
    #[error("line {line}: data after the export's end record")]
    AfterEnd { line: u64 },
    /// The accounts section of an `SLJ2` end record is out of order, names an id its code does
    /// not derive, or does not hash to what the end record states.
    #[error("line {line}: {what}")]
    AccountsSection { line: u64, what: String },
    /// A posting names an account the `SLJ2` accounts section lacks, or books it in another
    /// currency than the section gives the account.
    #[error("postings in {currency} name account {account_id}, which the accounts section {what}")]
    AccountNotInSection {
        account_id: Uuid,
        currency: String,
        what: String,
    },
    /// The first transaction is not where the auditor expected the export to start.
    #[error("line {line}: the export starts at sequence {found_sequence} after hash {found_previous_hash}, expected sequence {expected_sequence} after hash {}", display_hash(*.expected_previous_hash))]
    StartMismatch {
        line: u64,
        expected_sequence: u64,
        expected_previous_hash: Option<ChainHash>,
        found_sequence: u64,
        found_previous_hash: ChainHash,
    },
}

fn display_sequence(sequence: Option<u64>) -> String {
    sequence.map_or_else(|| "none".to_owned(), |sequence| sequence.to_string())
}

fn display_hash(hash: Option<ChainHash>) -> String {
    hash.map_or_else(|| "none".to_owned(), |hash| hash.to_hex())
}

impl FileProblem {
    /// True when the file is readable but its contents do not verify (as opposed to malformed).
    pub fn is_finding(&self) -> bool {
        !matches!(self, FileProblem::Malformed { .. })
    }

    /// The transaction the problem is at, when there is one.
    pub fn sequence(&self) -> Option<u64> {
        match self {
            FileProblem::Malformed { after_sequence, .. } => after_sequence.map(|s| s + 1),
            FileProblem::Chain { broken, .. } => Some(broken.sequence),
            FileProblem::RowsDisagree { sequence, .. } => Some(*sequence),
            FileProblem::Truncated { after_sequence } => after_sequence.map(|s| s + 1),
            FileProblem::EndMismatch { end_sequence, .. } => *end_sequence,
            FileProblem::AfterEnd { .. } => None,
            FileProblem::AccountsSection { .. } | FileProblem::AccountNotInSection { .. } => None,
            FileProblem::StartMismatch { found_sequence, .. } => Some(*found_sequence),
        }
    }
}

/// One line of a JSONL export, digested: a transaction ready for [`ExportVerifier::push_digest`],
/// or the end record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestedLine {
    Record(RecordDigest),
    End(ExportEnd),
}

/// The totals of one currency over every account: debit balances, credit balances, and their sum
/// (zero in balanced books).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CurrencyTotals {
    pub accounts_count: u64,
    /// Sum of the positive balances.
    pub debit_minor: i128,
    /// Sum of the negative balances (a negative number).
    pub credit_minor: i128,
}

impl CurrencyTotals {
    pub fn net_minor(&self) -> i128 {
        self.debit_minor + self.credit_minor
    }
}

/// What a verified export proves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    pub transactions_count: u64,
    pub postings_count: u64,
    /// The first transaction's sequence and the hash it chains onto (genesis for a whole chain).
    pub first_sequence: Option<u64>,
    pub start_previous_hash: Option<ChainHash>,
    pub last_sequence: Option<u64>,
    pub final_hash: Option<ChainHash>,
    /// Per currency, from the postings in the file alone (for a range: the movements of the range).
    pub trial_balance: BTreeMap<String, CurrencyTotals>,
    /// The chain hash after the watched sequence ([`ExportVerifier::watching`]), when the file
    /// reached it.
    pub watched_hash: Option<(u64, ChainHash)>,
    /// The number of accounts in the `SLJ2` accounts section, and how many of them have the id
    /// derived from their code (`None` for an `SLJ1` file).
    pub accounts_count: Option<(u64, u64)>,
}

/// Why a verified export is not the history a signed head (a checkpoint) vouches for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeadMismatch {
    /// The file never reaches the head's sequence (its last transactions deleted, an older
    /// export) or starts after it.
    #[error(
        "the file does not reach the checkpoint: the checkpoint signs the head after sequence {sequence}, the file holds {held} (transactions deleted at its end, or an older export)"
    )]
    NotReached { sequence: u64, held: String },
    /// The file's chain hash at the head's sequence is another one: a rewritten history.
    #[error(
        "the chain hash after sequence {sequence} is {file_hash} in the file, but the checkpoint signs {head_hash}: this is not the history the checkpoint was signed over"
    )]
    Differs {
        sequence: u64,
        file_hash: ChainHash,
        head_hash: ChainHash,
    },
}

impl ExportSummary {
    /// Checks the file against a signed head `(sequence, hash)`: the chain hash after `sequence`
    /// in the file must be `hash`. The verifier must have watched `sequence`
    /// ([`ExportVerifier::watching`]). Since every hash covers all the transactions before it,
    /// a match proves the file's transactions up to `sequence` are the ones the head was signed
    /// over; what follows it in the file is only consistent with itself.
    pub fn check_head(&self, sequence: u64, hash: ChainHash) -> Result<(), HeadMismatch> {
        match self.watched_hash {
            Some((watched, file_hash)) if watched == sequence => {
                if file_hash == hash {
                    Ok(())
                } else {
                    Err(HeadMismatch::Differs {
                        sequence,
                        file_hash,
                        head_hash: hash,
                    })
                }
            }
            _ => Err(HeadMismatch::NotReached {
                sequence,
                held: match (self.first_sequence, self.last_sequence) {
                    (Some(first), Some(last)) => format!("sequences {first} to {last}"),
                    _ => "no transaction".to_owned(),
                },
            }),
        }
    }

    /// True when the export starts at the beginning of the chain, so its balances are the books'.
    pub fn is_whole_chain(&self) -> bool {
        self.first_sequence.is_none_or(|sequence| sequence == 1)
    }
}

impl fmt::Display for ExportSummary {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            formatter,
            "export valid: {} transactions, {} postings",
            self.transactions_count, self.postings_count
        )?;
        match (self.first_sequence, self.start_previous_hash) {
            (Some(1), Some(previous)) => {
                writeln!(
                    formatter,
                    "range: sequences 1 to {} (the whole chain from genesis {previous})",
                    display_sequence(self.last_sequence)
                )?;
            }
            (Some(first), Some(previous)) => {
                writeln!(
                    formatter,
                    "range: sequences {first} to {}, chained onto {previous} (the hash of sequence {}; check it against the ledger or the export before)",
                    display_sequence(self.last_sequence),
                    first - 1
                )?;
            }
            _ => writeln!(formatter, "range: empty (no transaction)")?,
        }
        writeln!(formatter, "final hash: {}", display_hash(self.final_hash))?;
        match self.accounts_count {
            Some((accounts_count, derived_count)) => writeln!(
                formatter,
                "accounts section (SLJ2): {accounts_count} accounts, hash chained onto the final hash, every posting's account named in its currency; {derived_count} of {accounts_count} ids derived from their codes (UUIDv5)"
            )?,
            None => writeln!(formatter, "{NO_ACCOUNTS_SECTION}")?,
        }
        let label = if self.is_whole_chain() {
            "trial balance (every account's balance, summed per currency)"
        } else {
            "movements of the range (every account's change, summed per currency)"
        };
        writeln!(formatter, "{label}:")?;
        if self.trial_balance.is_empty() {
            writeln!(formatter, "  (no postings)")?;
        }
        for (currency, totals) in &self.trial_balance {
            writeln!(
                formatter,
                "  {currency}: {} accounts, debits {} minor units, credits {} minor units, net {}",
                totals.accounts_count,
                totals.debit_minor,
                totals.credit_minor,
                totals.net_minor()
            )?;
        }
        Ok(())
    }
}

/// Checks an export's items in file order: the chain (via [`ChainVerifier`]), the end record, and
/// an optional expected start; tallies the trial balance.
#[derive(Debug, Default, Clone)]
pub struct ExportVerifier {
    expected_start: Option<(u64, Option<ChainHash>)>,
    chain: Option<ChainVerifier>,
    first: Option<(u64, ChainHash)>,
    last: Option<(u64, ChainHash)>,
    end_seen: bool,
    /// The `SLJ2` accounts section's currency of each account, once its end record was read.
    accounts: Option<BTreeMap<Uuid, String>>,
    /// How many of the section's ids are derived from their codes.
    derived_ids_count: u64,
    /// The postings tallied so far (handed to the chain's balances at the end).
    pending_movements: Movements,
    /// The sequence whose chain hash is kept (a checkpoint's), and that hash once read.
    watched: Option<(u64, Option<ChainHash>)>,
}

impl ExportVerifier {
    /// A verifier of a whole chain: the file must start at sequence 1, after the genesis hash. A
    /// file that starts anywhere else is refused at its first record
    /// ([`FileProblem::StartMismatch`]): without it, deleting the first transactions of a file
    /// would leave a valid-looking range.
    pub fn new() -> ExportVerifier {
        ExportVerifier::expecting_start(1, None)
    }

    /// Also keeps the chain hash after transaction `sequence` (the genesis hash for 0, or a
    /// range's start hash for the sequence before it), for [`ExportSummary::check_head`].
    pub fn watching(mut self, sequence: u64) -> ExportVerifier {
        self.watched = Some((sequence, (sequence == 0).then_some(GENESIS_HASH)));
        self
    }

    /// A verifier that also requires the export to start at `sequence` (and, when given, after
    /// `previous_hash`): what an auditor who expects a whole chain, or the continuation of an
    /// earlier export, asks for.
    pub fn expecting_start(sequence: u64, previous_hash: Option<ChainHash>) -> ExportVerifier {
        ExportVerifier {
            expected_start: Some((sequence, previous_hash)),
            ..ExportVerifier::default()
        }
    }

    /// The last transaction verified.
    pub fn last_sequence(&self) -> Option<u64> {
        self.last.map(|(sequence, _)| sequence)
    }

    /// Checks the next item, read at `line`.
    pub fn push(&mut self, line: u64, item: &ExportItem) -> Result<(), FileProblem> {
        if self.end_seen {
            return Err(FileProblem::AfterEnd { line });
        }
        match item {
            ExportItem::Record(record) => self.push_record(line, record),
            ExportItem::End(end) => {
                self.end_seen = true;
                let file_sequence = self.last_sequence();
                let file_hash = self.last.map(|(_, hash)| hash);
                if end.last_sequence != file_sequence || end.final_hash != file_hash {
                    return Err(FileProblem::EndMismatch {
                        line,
                        end_sequence: end.last_sequence,
                        end_hash: end.final_hash,
                        file_sequence,
                        file_hash,
                    });
                }
                if let Some(section) = &end.accounts {
                    check_accounts_section(file_hash, section)
                        .map_err(|what| FileProblem::AccountsSection { line, what })?;
                    self.derived_ids_count = section.derived_ids_count();
                    self.accounts = Some(
                        section
                            .accounts
                            .iter()
                            .map(|account| (account.id, account.currency.clone()))
                            .collect(),
                    );
                }
                Ok(())
            }
        }
    }

    /// [`ExportVerifier::push`] for a transaction digested beforehand (see [`RecordDigest`]). Its
    /// postings are not tallied: add them with [`ExportVerifier::add_movements`].
    pub fn push_digest(&mut self, line: u64, digest: &RecordDigest) -> Result<(), FileProblem> {
        if self.end_seen {
            return Err(FileProblem::AfterEnd { line });
        }
        let chain = match &mut self.chain {
            Some(chain) => chain,
            None => {
                let (sequence, previous_hash) = match self.expected_start {
                    Some((sequence, Some(hash))) => (sequence, hash),
                    Some((1, None)) => (1, GENESIS_HASH),
                    Some((sequence, None)) => (sequence, digest.previous_hash),
                    None if digest.sequence == 1 => (1, GENESIS_HASH),
                    None => (digest.sequence, digest.previous_hash),
                };
                if let Some((expected_sequence, expected_previous_hash)) = self.expected_start
                    && (digest.sequence != expected_sequence
                        || digest.previous_hash != previous_hash)
                {
                    return Err(FileProblem::StartMismatch {
                        line,
                        expected_sequence,
                        expected_previous_hash: expected_previous_hash
                            .or((expected_sequence == 1).then_some(GENESIS_HASH)),
                        found_sequence: digest.sequence,
                        found_previous_hash: digest.previous_hash,
                    });
                }
                self.first = Some((sequence, previous_hash));
                if let Some((watched, kept)) = &mut self.watched
                    && watched.checked_add(1) == Some(sequence)
                {
                    *kept = Some(previous_hash);
                }
                self.chain
                    .insert(ChainVerifier::starting_at(sequence, previous_hash))
            }
        };
        chain
            .push_digest(digest)
            .map_err(|broken| FileProblem::Chain { line, broken })?;
        self.last = Some((digest.sequence, digest.hash));
        if let Some((watched, kept)) = &mut self.watched
            && *watched == digest.sequence
        {
            *kept = Some(digest.hash);
        }
        Ok(())
    }

    /// Tallies the postings of transactions checked with [`ExportVerifier::push_digest`].
    pub fn add_movements(&mut self, movements: Movements) {
        self.pending_movements.absorb(movements);
    }

    fn push_record(&mut self, line: u64, record: &JournalRecord) -> Result<(), FileProblem> {
        self.push_digest(line, &RecordDigest::of(record))?;
        self.pending_movements.add_record(record);
        Ok(())
    }

    /// Ends the file: it must have closed with its end record.
    pub fn finish(mut self) -> Result<ExportSummary, FileProblem> {
        if !self.end_seen {
            return Err(FileProblem::Truncated {
                after_sequence: self.last_sequence(),
            });
        }
        let mut trial_balance: BTreeMap<String, CurrencyTotals> = BTreeMap::new();
        let (transactions_count, postings_count) = match &mut self.chain {
            Some(chain) => {
                chain.add_movements(std::mem::take(&mut self.pending_movements));
                let balances = chain.balances();
                if let Some(accounts) = &self.accounts {
                    for (account_id, currency) in balances.keys() {
                        let what = match accounts.get(account_id) {
                            None => "does not name".to_owned(),
                            Some(named) if named != currency => {
                                format!("gives the currency {named}")
                            }
                            Some(_) => continue,
                        };
                        return Err(FileProblem::AccountNotInSection {
                            account_id: *account_id,
                            currency: currency.clone(),
                            what,
                        });
                    }
                }
                for ((_, currency), balance) in balances {
                    let totals = trial_balance
                        .entry(currency.clone())
                        .or_insert(CurrencyTotals {
                            accounts_count: 0,
                            debit_minor: 0,
                            credit_minor: 0,
                        });
                    totals.accounts_count += 1;
                    if balance > 0 {
                        totals.debit_minor += balance;
                    } else {
                        totals.credit_minor += balance;
                    }
                }
                (chain.transactions_count(), chain.postings_count())
            }
            None => (0, 0),
        };
        let last_sequence = self.last_sequence();
        Ok(ExportSummary {
            transactions_count,
            postings_count,
            first_sequence: self.first.map(|(sequence, _)| sequence),
            start_previous_hash: self.first.map(|(_, hash)| hash),
            last_sequence,
            final_hash: self.last.map(|(_, hash)| hash),
            trial_balance,
            watched_hash: self
                .watched
                .and_then(|(sequence, hash)| Some((sequence, hash?))),
            accounts_count: self
                .accounts
                .map(|accounts| (accounts.len() as u64, self.derived_ids_count)),
        })
    }
}
