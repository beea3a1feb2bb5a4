//! The hash chain that makes the journal tamper-evident.
//!
//! Each committed transaction is encoded into canonical bytes (format `SLJ1`, specified in
//! `docs/hash-chain.md` so an auditor can reimplement it) and hashed together with the previous
//! transaction's hash: `hash_n = SHA-256(hash_{n-1} ‖ encoding_n)`, starting from the all-zero
//! genesis hash. Changing, removing, inserting or reordering any transaction changes every later hash.

// Long file: the encoding a verifier must reproduce byte for byte (docs/hash-chain.md) and its
// known-answer tests stay side by side; the code itself is about 540 lines.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::journal::BalancedTransaction;

/// The first four bytes of every encoded transaction: the encoding's name and version.
pub const ENCODING_V1_MAGIC: &[u8; 4] = b"SLJ1";

/// A SHA-256 chain hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainHash([u8; 32]);

/// The hash "before" the first transaction: 32 zero bytes.
pub const GENESIS_HASH: ChainHash = ChainHash([0; 32]);

impl ChainHash {
    pub fn from_bytes(bytes: [u8; 32]) -> ChainHash {
        ChainHash(bytes)
    }

    /// From a stored byte string; `None` unless it has exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<ChainHash> {
        <[u8; 32]>::try_from(bytes).ok().map(ChainHash)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        let mut text = [0_u8; 64];
        self.encode_hex(&mut text).to_owned()
    }

    /// The 64 lower-case hexadecimal digits, written into `text` without allocating.
    pub fn encode_hex<'a>(&self, text: &'a mut [u8; 64]) -> &'a str {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for (pair, byte) in text.as_chunks_mut::<2>().0.iter_mut().zip(self.0) {
            *pair = [
                DIGITS[usize::from(byte >> 4)],
                DIGITS[usize::from(byte & 0x0f)],
            ];
        }
        // Only ASCII digits were written.
        std::str::from_utf8(text).unwrap_or_default()
    }

    /// From exactly 64 hexadecimal digits of either case (what `FromStr` takes), without the
    /// per-digit branches of a general decoder: verifying an export reads two per transaction.
    pub fn from_hex_bytes(text: &[u8]) -> Option<ChainHash> {
        let pairs = text.as_chunks::<2>();
        if pairs.0.len() != 32 || !pairs.1.is_empty() {
            return None;
        }
        let mut bytes = [0_u8; 32];
        let mut invalid = 0_u8;
        for (byte, [high, low]) in bytes.iter_mut().zip(pairs.0) {
            let (high, low) = (
                HEX_DIGITS[usize::from(*high)],
                HEX_DIGITS[usize::from(*low)],
            );
            invalid |= high | low;
            *byte = (high << 4) | (low & 0x0f);
        }
        (invalid & 0x80 == 0).then_some(ChainHash(bytes))
    }
}

/// Each byte's value as a hexadecimal digit, or `0x80` for a byte that is not one.
const HEX_DIGITS: [u8; 256] = {
    let mut table = [0x80_u8; 256];
    let mut index = 0;
    while index < 10 {
        table[b'0' as usize + index] = index as u8;
        index += 1;
    }
    let mut index = 0;
    while index < 6 {
        table[b'a' as usize + index] = 10 + index as u8;
        table[b'A' as usize + index] = 10 + index as u8;
        index += 1;
    }
    table
};

impl fmt::Display for ChainHash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_hex())
    }
}

impl FromStr for ChainHash {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0_u8; 32];
        hex::decode_to_slice(text, &mut bytes)
            .map_err(|_| "a chain hash is 64 hexadecimal digits".to_owned())?;
        Ok(ChainHash(bytes))
    }
}

impl Serialize for ChainHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.encode_hex(&mut [0; 64]))
    }
}

impl<'de> Deserialize<'de> for ChainHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor rather than `String`: verifying an export parses two hashes per transaction,
        // and borrowing the text saves an allocation each.
        struct HexVisitor;
        impl serde::de::Visitor<'_> for HexVisitor {
            type Value = ChainHash;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a chain hash of 64 hexadecimal digits")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<ChainHash, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(HexVisitor)
    }
}

/// One posting as committed to the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPosting {
    pub account_id: Uuid,
    /// ISO 4217 code, as stored.
    pub currency: String,
    /// Signed minor units: debit positive, credit negative.
    pub amount_minor: i64,
}

/// A committed transaction exactly as stored and exported: the hashed fields as text and integers,
/// plus its place in the chain. Kept in plain types so a tampered value still reaches the verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalRecord {
    /// Position in the chain, gapless from 1.
    pub sequence: u64,
    pub transaction_id: Uuid,
    pub kind: String,
    /// `YYYY-MM-DD`.
    pub effective_date: String,
    /// RFC 3339 UTC with six fractional digits and `Z`.
    pub recorded_at: String,
    pub actor_subject: String,
    /// The actor's organisation id (hyphenated lower-case UUID), or empty for the system.
    pub actor_organisation: String,
    pub memo: String,
    /// Canonical JSON object text.
    pub metadata: String,
    pub postings: Vec<RecordPosting>,
    pub previous_hash: ChainHash,
    pub hash: ChainHash,
}

fn push_text(buffer: &mut Vec<u8>, text: &str) {
    // Every field is bounded far below 4 GiB by the journal's limits.
    let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
    buffer.extend_from_slice(&length.to_be_bytes());
    buffer.extend_from_slice(text.as_bytes());
}

impl JournalRecord {
    /// The canonical `SLJ1` bytes of everything the hash covers except the previous hash.
    pub fn encode(&self) -> Vec<u8> {
        let mut buffer = Vec::with_capacity(256 + self.postings.len() * 40);
        buffer.extend_from_slice(ENCODING_V1_MAGIC);
        buffer.extend_from_slice(&self.sequence.to_be_bytes());
        buffer.extend_from_slice(self.transaction_id.as_bytes());
        for text in [
            &self.kind,
            &self.effective_date,
            &self.recorded_at,
            &self.actor_subject,
            &self.actor_organisation,
            &self.memo,
            &self.metadata,
        ] {
            push_text(&mut buffer, text);
        }
        let count = u32::try_from(self.postings.len()).unwrap_or(u32::MAX);
        buffer.extend_from_slice(&count.to_be_bytes());
        for posting in &self.postings {
            buffer.extend_from_slice(posting.account_id.as_bytes());
            push_text(&mut buffer, &posting.currency);
            buffer.extend_from_slice(&posting.amount_minor.to_be_bytes());
        }
        buffer
    }

    /// `SHA-256(previous_hash ‖ encode())`: what `hash` must be.
    pub fn compute_hash(&self) -> ChainHash {
        chain_hash(&self.previous_hash, &self.encode())
    }
}

/// `SHA-256(previous ‖ encoding)`.
pub fn chain_hash(previous: &ChainHash, encoding: &[u8]) -> ChainHash {
    let mut hasher = Sha256::new();
    hasher.update(previous.as_bytes());
    hasher.update(encoding);
    ChainHash(hasher.finalize().into())
}

impl BalancedTransaction {
    /// Places the transaction in the chain after `previous_hash` at `sequence` and computes its hash.
    pub fn seal(&self, sequence: u64, previous_hash: ChainHash) -> JournalRecord {
        let mut record = JournalRecord {
            sequence,
            transaction_id: self.id().as_uuid(),
            kind: self.kind().as_str().to_owned(),
            effective_date: self.effective_date().format("%Y-%m-%d").to_string(),
            recorded_at: self.recorded_at().to_canonical_string(),
            actor_subject: self.actor().subject.clone(),
            actor_organisation: self
                .actor()
                .organisation
                .map(|organisation| organisation.to_string())
                .unwrap_or_default(),
            memo: self.memo().to_owned(),
            metadata: self.metadata_json().to_owned(),
            postings: self
                .postings()
                .iter()
                .map(|posting| RecordPosting {
                    account_id: posting.account_id.as_uuid(),
                    currency: posting.amount.currency().code().to_owned(),
                    amount_minor: posting.amount.minor(),
                })
                .collect(),
            previous_hash,
            hash: GENESIS_HASH,
        };
        record.hash = record.compute_hash();
        record
    }
}

/// What checking one record's place in the chain needs, made apart from the walk (on any thread,
/// from a parsed record or straight from an export line): its links, the hash its contents give,
/// and whether its postings balance. The walk itself ([`ChainVerifier::push_digest`]) is then a few
/// comparisons, so verification can digest records in parallel and check the chain in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordDigest {
    pub sequence: u64,
    pub previous_hash: ChainHash,
    pub hash: ChainHash,
    /// `SHA-256(previous_hash ‖ encoding)`: what `hash` must be.
    pub computed: ChainHash,
    pub postings_count: u64,
    /// The first currency (in code order) whose postings do not sum to zero, with their sum.
    pub unbalanced: Option<(String, i128)>,
}

impl RecordDigest {
    pub fn of(record: &JournalRecord) -> RecordDigest {
        RecordDigest {
            sequence: record.sequence,
            previous_hash: record.previous_hash,
            hash: record.hash,
            computed: record.compute_hash(),
            postings_count: record.postings.len() as u64,
            unbalanced: first_unbalanced(
                record
                    .postings
                    .iter()
                    .map(|posting| (posting.currency.as_str(), posting.amount_minor)),
            ),
        }
    }
}

/// The first currency, in code order, whose amounts do not sum to zero, and the sum.
pub fn first_unbalanced<'a>(
    postings: impl IntoIterator<Item = (&'a str, i64)> + Clone,
) -> Option<(String, i128)> {
    // Almost every transaction is in one currency: that case needs no map (verification digests
    // every transaction of an export).
    let mut single = postings.clone().into_iter();
    if let Some((currency, _)) = single.next() {
        let mut sum = 0_i128;
        let one_currency = postings.clone().into_iter().all(|(other, amount_minor)| {
            sum += i128::from(amount_minor);
            other == currency
        });
        if one_currency {
            return (sum != 0).then(|| (currency.to_owned(), sum));
        }
    }
    let mut sums: BTreeMap<&str, i128> = BTreeMap::new();
    for (currency, amount_minor) in postings {
        *sums.entry(currency).or_default() += i128::from(amount_minor);
    }
    sums.into_iter()
        .find(|(_, sum)| *sum != 0)
        .map(|(currency, sum)| (currency.to_owned(), sum))
}

/// Net movements per account and currency, summed from postings. Made per block of records on the
/// thread that digests them and merged in file order, so tallying never waits on the chain walk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Movements {
    /// Per account, its currencies (almost always one) and their sums.
    by_account: HashMap<Uuid, Vec<(String, i128)>>,
}

impl Movements {
    pub fn add(&mut self, account_id: Uuid, currency: &str, amount_minor: i128) {
        let currencies = self.by_account.entry(account_id).or_default();
        match currencies.iter_mut().find(|(known, _)| known == currency) {
            Some((_, sum)) => *sum += amount_minor,
            None => currencies.push((currency.to_owned(), amount_minor)),
        }
    }

    /// Adds every posting of a record.
    pub fn add_record(&mut self, record: &JournalRecord) {
        for posting in &record.postings {
            self.add(
                posting.account_id,
                &posting.currency,
                i128::from(posting.amount_minor),
            );
        }
    }

    /// Adds another tally into this one.
    pub fn absorb(&mut self, other: Movements) {
        if self.by_account.is_empty() {
            *self = other;
            return;
        }
        for (account_id, currencies) in other.by_account {
            for (currency, sum) in currencies {
                self.add(account_id, &currency, sum);
            }
        }
    }

    /// Every (account, currency) and its sum, in order.
    pub fn to_sorted(&self) -> BTreeMap<(Uuid, String), i128> {
        self.by_account
            .iter()
            .flat_map(|(account_id, currencies)| {
                currencies
                    .iter()
                    .map(|(currency, sum)| ((*account_id, currency.clone()), *sum))
            })
            .collect()
    }
}

/// What is wrong at the first broken place of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BreakKind {
    /// A sequence number is missing, repeated or out of order.
    SequenceGap { expected_sequence: u64 },
    /// The record does not point at the hash of the record before it.
    PreviousHashMismatch {
        expected: ChainHash,
        found: ChainHash,
    },
    /// The stored hash is not the hash of the record's contents.
    HashMismatch {
        expected: ChainHash,
        found: ChainHash,
    },
    /// The postings do not sum to zero in a currency.
    Unbalanced { currency: String, sum_minor: i128 },
}

impl fmt::Display for BreakKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakKind::SequenceGap { expected_sequence } => write!(
                formatter,
                "sequence gap: expected sequence {expected_sequence} here"
            ),
            BreakKind::PreviousHashMismatch { expected, found } => write!(
                formatter,
                "previous hash is {found}, but the transaction before ends the chain at {expected}"
            ),
            BreakKind::HashMismatch { expected, found } => write!(
                formatter,
                "stored hash {found} does not match the contents, which hash to {expected} (a hashed field was changed)"
            ),
            BreakKind::Unbalanced {
                currency,
                sum_minor,
            } => write!(
                formatter,
                "postings in {currency} sum to {sum_minor}, not zero"
            ),
        }
    }
}

/// The first break found in a chain, with the sequence where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("chain broken at sequence {sequence}: {kind}")]
pub struct ChainBreak {
    pub sequence: u64,
    #[serde(flatten)]
    pub kind: BreakKind,
}

/// Walks records in chain order, checking sequence, links, hashes and per-currency balance, and
/// tallies every account's balance on the way.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_sequence: u64,
    previous_hash: ChainHash,
    transactions_count: u64,
    postings_count: u64,
    balances: Movements,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier::new()
    }
}

impl ChainVerifier {
    /// A verifier for a whole chain: sequence 1 after the genesis hash.
    pub fn new() -> ChainVerifier {
        ChainVerifier::starting_at(1, GENESIS_HASH)
    }

    /// A verifier for a range that starts at `sequence`, whose predecessor's hash is `previous_hash`.
    pub fn starting_at(sequence: u64, previous_hash: ChainHash) -> ChainVerifier {
        ChainVerifier {
            next_sequence: sequence,
            previous_hash,
            transactions_count: 0,
            postings_count: 0,
            balances: Movements::default(),
        }
    }

    /// Checks the next record; on success it becomes the new head and its postings are tallied.
    pub fn push(&mut self, record: &JournalRecord) -> Result<(), ChainBreak> {
        self.push_digest(&RecordDigest::of(record))?;
        self.balances.add_record(record);
        Ok(())
    }

    /// Checks the next record from its digest; on success it becomes the new head. Its postings
    /// are not tallied: add them with [`ChainVerifier::add_movements`] (for a block at a time).
    pub fn push_digest(&mut self, digest: &RecordDigest) -> Result<(), ChainBreak> {
        let fail = |kind| ChainBreak {
            sequence: digest.sequence,
            kind,
        };
        if digest.sequence != self.next_sequence {
            return Err(fail(BreakKind::SequenceGap {
                expected_sequence: self.next_sequence,
            }));
        }
        if digest.previous_hash != self.previous_hash {
            return Err(fail(BreakKind::PreviousHashMismatch {
                expected: self.previous_hash,
                found: digest.previous_hash,
            }));
        }
        // The digest's hash was computed from the record's own `previous_hash`, which was just
        // checked to be this verifier's head: it is the hash this check needs.
        if digest.computed != digest.hash {
            return Err(fail(BreakKind::HashMismatch {
                expected: digest.computed,
                found: digest.hash,
            }));
        }
        if let Some((currency, sum_minor)) = &digest.unbalanced {
            return Err(fail(BreakKind::Unbalanced {
                currency: currency.clone(),
                sum_minor: *sum_minor,
            }));
        }
        self.next_sequence += 1;
        self.previous_hash = digest.hash;
        self.transactions_count += 1;
        self.postings_count += digest.postings_count;
        Ok(())
    }

    /// Tallies the postings of records checked with [`ChainVerifier::push_digest`].
    pub fn add_movements(&mut self, movements: Movements) {
        self.balances.absorb(movements);
    }

    /// The hash of the last verified record (the start hash if none).
    pub fn head_hash(&self) -> ChainHash {
        self.previous_hash
    }

    /// The sequence the next record must have.
    pub fn next_sequence(&self) -> u64 {
        self.next_sequence
    }

    pub fn transactions_count(&self) -> u64 {
        self.transactions_count
    }

    pub fn postings_count(&self) -> u64 {
        self.postings_count
    }

    /// The balance of every (account, currency) seen, from the verified postings alone.
    pub fn balances(&self) -> BTreeMap<(Uuid, String), i128> {
        self.balances.to_sorted()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::journal::tests::{account, draft};
    use crate::journal::{Account, Posting};
    use crate::money::Amount;
    use proptest::prelude::*;
    use std::collections::HashMap;

    pub(crate) fn chain_of(count: usize) -> Vec<JournalRecord> {
        let cash = account("cash", "EUR");
        let pool = account("pool", "EUR");
        let chart: HashMap<_, Account> = [(cash.id, cash.clone()), (pool.id, pool.clone())].into();
        let mut previous = GENESIS_HASH;
        (1..=count)
            .map(|sequence| {
                let minor = i64::try_from(sequence).unwrap() * 100;
                let transaction = draft(vec![
                    Posting {
                        account_id: cash.id,
                        amount: Amount::from_minor(minor, cash.currency).unwrap(),
                    },
                    Posting {
                        account_id: pool.id,
                        amount: Amount::from_minor(-minor, pool.currency).unwrap(),
                    },
                ])
                .validate(&chart)
                .unwrap();
                let record = transaction.seal(sequence as u64, previous);
                previous = record.hash;
                record
            })
            .collect()
    }

    fn verify(records: &[JournalRecord]) -> Result<ChainVerifier, ChainBreak> {
        let mut verifier = ChainVerifier::new();
        for record in records {
            verifier.push(record)?;
        }
        Ok(verifier)
    }

    #[test]
    fn a_sealed_chain_verifies_and_tallies_balances() {
        // Proves an untouched chain verifies and the verifier's balances are the sums of postings.
        let records = chain_of(5);
        let verifier = verify(&records).unwrap();
        assert_eq!(verifier.transactions_count(), 5);
        assert_eq!(verifier.postings_count(), 10);
        assert_eq!(verifier.head_hash(), records[4].hash);
        let cash_id = records[0].postings[0].account_id;
        assert_eq!(verifier.balances()[&(cash_id, "EUR".to_owned())], 1500);
    }

    proptest! {
        #[test]
        fn the_first_unbalanced_currency_is_found_with_or_without_a_map(
            postings in proptest::collection::vec(
                (prop_oneof![Just("EUR"), Just("XOF"), Just("CDF")], -3_i64..3),
                0..5,
            ),
        ) {
            // Proves the one-currency shortcut answers as the per-currency sums do.
            let mut sums: BTreeMap<&str, i128> = BTreeMap::new();
            for (currency, amount_minor) in &postings {
                *sums.entry(currency).or_default() += i128::from(*amount_minor);
            }
            let expected = sums
                .into_iter()
                .find(|(_, sum)| *sum != 0)
                .map(|(currency, sum)| (currency.to_owned(), sum));
            prop_assert_eq!(first_unbalanced(postings.iter().copied()), expected);
        }

        #[test]
        fn hex_bytes_read_as_from_str_reads(
            text in "[0-9a-fA-F]{64}|[0-9a-fA-F]{0,70}|[0-9a-gA-G/:@`]{64}",
        ) {
            // Proves the fast hash decoder takes exactly what `FromStr` (the hex crate) takes, with
            // the same value: both cases, and no wrong length or neighbouring character; and
            // writes back the hex crate's lower-case text.
            let fast = ChainHash::from_hex_bytes(text.as_bytes());
            prop_assert_eq!(fast, text.parse::<ChainHash>().ok());
            if let Some(hash) = fast {
                prop_assert_eq!(hash.to_hex(), hex::encode(hash.as_bytes()));
            }
        }
    }

    #[test]
    fn the_encoding_is_pinned() {
        // Proves the documented encoding: a known record has a known hash (docs/hash-chain.md example, computed independently in Python).
        let record = JournalRecord {
            sequence: 1,
            transaction_id: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            kind: "adjustment".into(),
            effective_date: "2026-11-23".into(),
            recorded_at: "2026-11-23T03:25:16.000000Z".into(),
            actor_subject: "system".into(),
            actor_organisation: String::new(),
            memo: "opening".into(),
            metadata: "{}".into(),
            postings: vec![
                RecordPosting {
                    account_id: Uuid::from_u128(1),
                    currency: "EUR".into(),
                    amount_minor: 100,
                },
                RecordPosting {
                    account_id: Uuid::from_u128(2),
                    currency: "EUR".into(),
                    amount_minor: -100,
                },
            ],
            previous_hash: GENESIS_HASH,
            hash: GENESIS_HASH,
        };
        let encoding = record.encode();
        assert_eq!(&encoding[..4], b"SLJ1");
        assert_eq!(&encoding[4..12], &1_u64.to_be_bytes());
        assert_eq!(
            encoding.len(),
            4 + 8 + 16 + (4 * 7 + 10 + 10 + 27 + 6 + 7 + 2) + 4 + 2 * (16 + 4 + 3 + 8)
        );
        assert_eq!(
            record.compute_hash().to_hex(),
            "3654c1cc4a0402b045ba18ddbb01c9d05f251b8491ac4c45ea1e2e1c9c70ffef"
        );
    }

    #[test]
    fn verifier_names_the_first_break() {
        // Proves each kind of tampering is reported at the sequence where it happens.
        let records = chain_of(4);

        let mut changed = records.clone();
        changed[2].postings[0].amount_minor += 1;
        changed[2].postings[1].amount_minor -= 1;
        let broken = verify(&changed).unwrap_err();
        assert_eq!(broken.sequence, 3);
        assert!(matches!(broken.kind, BreakKind::HashMismatch { .. }));

        let mut removed = records.clone();
        removed.remove(1);
        let broken = verify(&removed).unwrap_err();
        assert_eq!(
            (broken.sequence, broken.kind.clone()),
            (
                3,
                BreakKind::SequenceGap {
                    expected_sequence: 2
                }
            )
        );

        let mut swapped = records.clone();
        swapped.swap(1, 2);
        assert_eq!(verify(&swapped).unwrap_err().sequence, 3);

        let mut relinked = records.clone();
        relinked[3].previous_hash = GENESIS_HASH;
        assert!(matches!(
            verify(&relinked).unwrap_err().kind,
            BreakKind::PreviousHashMismatch { .. }
        ));

        // A forger who also recomputes the hash still breaks the next link.
        let mut rehashed = records.clone();
        rehashed[1].memo.push('!');
        rehashed[1].hash = rehashed[1].compute_hash();
        let broken = verify(&rehashed).unwrap_err();
        assert_eq!(broken.sequence, 3);
        assert!(matches!(
            broken.kind,
            BreakKind::PreviousHashMismatch { .. }
        ));

        // An unbalanced record with a consistent hash is still refused.
        let mut unbalanced = records[..1].to_vec();
        unbalanced[0].postings[0].amount_minor += 1;
        unbalanced[0].hash = unbalanced[0].compute_hash();
        assert!(matches!(
            verify(&unbalanced).unwrap_err().kind,
            BreakKind::Unbalanced { .. }
        ));
    }

    #[test]
    fn a_range_verifies_from_its_starting_hash() {
        // Proves an export that starts mid-chain verifies given the hash before it.
        let records = chain_of(6);
        let mut verifier = ChainVerifier::starting_at(4, records[2].hash);
        for record in &records[3..] {
            verifier.push(record).unwrap();
        }
        assert_eq!(verifier.head_hash(), records[5].hash);
    }

    proptest! {
        #[test]
        fn any_single_changed_byte_breaks_the_chain(position in any::<prop::sample::Index>(), flip in 1_u8..=255) {
            // Proves the encoding is injective enough that one changed byte anywhere changes the hash.
            let record = &chain_of(1)[0];
            let mut encoding = record.encode();
            let index = position.index(encoding.len());
            encoding[index] ^= flip;
            prop_assert_ne!(chain_hash(&record.previous_hash, &encoding), record.hash);
        }
    }
}
