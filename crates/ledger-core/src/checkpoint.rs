//! Signed checkpoints: the operator's Ed25519 signature over the chain head (sequence, hash, time,
//! key id), so that partners can keep the heads they were shown and later prove that the ledger
//! only ever grew. The format is specified in `docs/hash-chain.md` ("Checkpoints").
//!
//! Pure: signing takes the key (the caller generates or loads it), the time is passed in.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::chain::{ChainHash, GENESIS_HASH};
use crate::time::Timestamp;

pub use ed25519_dalek::{SigningKey, VerifyingKey};

/// The first line of every signed message: names the format and its version.
pub const CHECKPOINT_MESSAGE_HEADER: &str = "solidarity-ledger checkpoint v1";

/// Length of a key id: 16 hexadecimal digits (64 bits of SHA-256 of the public key), enough to
/// tell keys apart at a glance; the signature check uses the whole key.
pub const KEY_ID_LENGTH: usize = 16;

/// Why a checkpoint, a key or a chain segment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    #[error("a public key is 64 lower-case hexadecimal digits encoding an Ed25519 point")]
    MalformedPublicKey,
    #[error("a signing key is 64 lower-case hexadecimal digits (32 bytes)")]
    MalformedSigningKey,
    #[error("the checkpoint names key {found}, but the key given has id {expected}")]
    KeyIdMismatch { expected: String, found: String },
    #[error("the checkpoint's signature does not verify with key {key_id}")]
    BadSignature { key_id: String },
}

/// A signed statement: "after transaction `sequence` the chain hash was `hash`".
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The last transaction covered; 0 for an empty journal.
    pub sequence: u64,
    /// The chain hash after transaction `sequence` (the genesis hash for sequence 0).
    #[serde(with = "hex_bytes")]
    pub hash: [u8; 32],
    /// When it was signed: RFC 3339, UTC, whole seconds, `Z` (`2026-12-07T08:00:00Z`).
    #[serde(deserialize_with = "deserialize_signed_at")]
    pub signed_at: String,
    /// First 16 lower-case hex digits of SHA-256 of the 32-byte public key.
    #[serde(deserialize_with = "deserialize_key_id")]
    pub key_id: String,
    /// Ed25519 signature over [`Checkpoint::signed_message`].
    #[serde(with = "hex_bytes")]
    pub signature: [u8; 64],
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Checkpoint")
            .field("sequence", &self.sequence)
            .field("hash", &hex::encode(self.hash))
            .field("signed_at", &self.signed_at)
            .field("key_id", &self.key_id)
            .field("signature", &hex::encode(self.signature))
            .finish()
    }
}

impl Checkpoint {
    /// Signs the head `(sequence, hash)` at `signed_at` (truncated to whole seconds).
    pub fn sign(
        signing_key: &SigningKey,
        sequence: u64,
        hash: ChainHash,
        signed_at: Timestamp,
    ) -> Checkpoint {
        let signed_at = signed_at_text(signed_at);
        let key_id = key_id(&signing_key.verifying_key());
        let message = signed_message(sequence, &hash, &signed_at, &key_id);
        let signature = signing_key.sign(message.as_bytes()).to_bytes();
        Checkpoint {
            sequence,
            hash: *hash.as_bytes(),
            signed_at,
            key_id,
            signature,
        }
    }

    /// Checks that the checkpoint names `public_key` and that its signature verifies with it
    /// (strict Ed25519 verification: no malleable or small-order signatures).
    pub fn verify(&self, public_key: &VerifyingKey) -> Result<(), CheckpointError> {
        let expected = key_id(public_key);
        if expected != self.key_id {
            return Err(CheckpointError::KeyIdMismatch {
                expected,
                found: self.key_id.clone(),
            });
        }
        let signature = Signature::from_bytes(&self.signature);
        public_key
            .verify_strict(self.signed_message().as_bytes(), &signature)
            .map_err(|_| CheckpointError::BadSignature {
                key_id: self.key_id.clone(),
            })
    }

    /// The exact text that is signed (its UTF-8 bytes).
    pub fn signed_message(&self) -> String {
        signed_message(
            self.sequence,
            &self.chain_hash(),
            &self.signed_at,
            &self.key_id,
        )
    }

    /// The head as a chain hash.
    pub fn chain_hash(&self) -> ChainHash {
        ChainHash::from_bytes(self.hash)
    }

    /// The head `(sequence, hash)` this checkpoint signs.
    pub fn head(&self) -> (u64, ChainHash) {
        (self.sequence, self.chain_hash())
    }
}

/// The head of an empty journal: sequence 0 and the genesis hash.
pub const EMPTY_HEAD: (u64, ChainHash) = (0, GENESIS_HASH);

fn signed_message(sequence: u64, hash: &ChainHash, signed_at: &str, key_id: &str) -> String {
    format!(
        "{CHECKPOINT_MESSAGE_HEADER}\nsequence={sequence}\nhash={}\nsigned_at={signed_at}\nkey_id={key_id}\n",
        hash.to_hex()
    )
}

/// RFC 3339, UTC, whole seconds (the fraction is cut off), `Z`.
pub fn signed_at_text(instant: Timestamp) -> String {
    instant
        .to_datetime()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A key's id (its fingerprint): the first 16 lower-case hex digits of SHA-256 of its 32 bytes.
pub fn key_id(public_key: &VerifyingKey) -> String {
    let digest = Sha256::digest(public_key.as_bytes());
    let mut text = hex::encode(digest);
    text.truncate(KEY_ID_LENGTH);
    text
}

/// A public key as published: 64 lower-case hexadecimal digits.
pub fn public_key_hex(public_key: &VerifyingKey) -> String {
    hex::encode(public_key.as_bytes())
}

/// Reads a published public key (64 lower-case hexadecimal digits).
pub fn parse_public_key_hex(text: &str) -> Result<VerifyingKey, CheckpointError> {
    let bytes = lower_hex::<32>(text).ok_or(CheckpointError::MalformedPublicKey)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| CheckpointError::MalformedPublicKey)
}

/// Reads a signing key's 32 secret bytes written as 64 lower-case hexadecimal digits (how a key
/// is supplied in a setting or kept in a file; surrounding white space is ignored).
pub fn parse_signing_key_hex(text: &str) -> Result<SigningKey, CheckpointError> {
    let bytes = lower_hex::<32>(text.trim()).ok_or(CheckpointError::MalformedSigningKey)?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// A signing key's 32 secret bytes as 64 lower-case hexadecimal digits.
pub fn signing_key_hex(signing_key: &SigningKey) -> String {
    hex::encode(signing_key.to_bytes())
}

/// Exactly `2 * N` lower-case hexadecimal digits, or `None`.
fn lower_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(is_lower_hex_digit) {
        return None;
    }
    let mut bytes = [0_u8; N];
    hex::decode_to_slice(text, &mut bytes).ok()?;
    Some(bytes)
}

fn is_lower_hex_digit(byte: u8) -> bool {
    byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)
}

fn deserialize_signed_at<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    let canonical = DateTime::parse_from_rfc3339(&text)
        .ok()
        .map(|instant| {
            instant
                .with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        })
        .filter(|canonical| *canonical == text);
    canonical.ok_or_else(|| {
        serde::de::Error::custom("signed_at is RFC 3339 in UTC with whole seconds and `Z`")
    })
}

fn deserialize_key_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.len() == KEY_ID_LENGTH && text.bytes().all(is_lower_hex_digit) {
        Ok(text)
    } else {
        Err(serde::de::Error::custom(
            "key_id is 16 lower-case hexadecimal digits",
        ))
    }
}

/// Fixed-size byte arrays as lower-case hex strings of exactly twice their length.
mod hex_bytes {
    use super::*;

    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(deserializer)?;
        lower_hex::<N>(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("expected {} lower-case hexadecimal digits", 2 * N))
        })
    }
}

/// One link of the chain as the service serves it to witnesses: a transaction's sequence, the hash
/// it chains onto and its own hash (no content: see "Checkpoints" in `docs/hash-chain.md` for what
/// such a segment proves and what it does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainLink {
    pub sequence: u64,
    pub previous_hash: ChainHash,
    pub hash: ChainHash,
}

/// Why a new head does not extend a kept one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsistencyError {
    #[error(
        "rollback: the new head is at sequence {new_sequence}, before the kept head at {kept_sequence}"
    )]
    Rollback {
        kept_sequence: u64,
        new_sequence: u64,
    },
    #[error("fork: sequence {sequence} has hash {new_hash} now, but {kept_hash} was kept")]
    Fork {
        sequence: u64,
        kept_hash: ChainHash,
        new_hash: ChainHash,
    },
    #[error("rewritten history at sequence {sequence}: {detail}")]
    RewrittenHistory { sequence: u64, detail: String },
}

/// Checks, link by link, that a chain segment leads from a kept head to a new one: sequences
/// `kept + 1 ..= new` in order, each link chaining onto the one before (the first onto the kept
/// hash), the last ending at the new hash. Fed page by page, so a long segment is never held whole.
#[derive(Debug, Clone)]
pub struct ExtensionCheck {
    kept: (u64, ChainHash),
    new: (u64, ChainHash),
    /// The last head reached by the links read so far.
    reached: (u64, ChainHash),
}

impl ExtensionCheck {
    /// Starts checking that `new` extends `kept`. A lower sequence is a rollback; the same
    /// sequence with another hash is a fork (neither needs a segment).
    pub fn new(
        kept: (u64, ChainHash),
        new: (u64, ChainHash),
    ) -> Result<ExtensionCheck, ConsistencyError> {
        if new.0 < kept.0 {
            return Err(ConsistencyError::Rollback {
                kept_sequence: kept.0,
                new_sequence: new.0,
            });
        }
        if new.0 == kept.0 && new.1 != kept.1 {
            return Err(ConsistencyError::Fork {
                sequence: new.0,
                kept_hash: kept.1,
                new_hash: new.1,
            });
        }
        Ok(ExtensionCheck {
            kept,
            new,
            reached: kept,
        })
    }

    /// The next sequence the segment must give, or `None` once the new head is reached.
    pub fn next_sequence(&self) -> Option<u64> {
        (self.reached.0 < self.new.0).then(|| self.reached.0 + 1)
    }

    /// Checks the next link of the segment.
    pub fn link(&mut self, link: &ChainLink) -> Result<(), ConsistencyError> {
        let Some(expected_sequence) = self.next_sequence() else {
            return Err(ConsistencyError::RewrittenHistory {
                sequence: link.sequence,
                detail: format!(
                    "the segment goes on past the new head at sequence {}",
                    self.new.0
                ),
            });
        };
        if link.sequence != expected_sequence {
            return Err(ConsistencyError::RewrittenHistory {
                sequence: expected_sequence,
                detail: format!(
                    "the segment gives sequence {} where {expected_sequence} was due",
                    link.sequence
                ),
            });
        }
        if link.previous_hash != self.reached.1 {
            let what = if self.reached.0 == self.kept.0 {
                "the kept head's hash"
            } else {
                "the hash of the link before it"
            };
            return Err(ConsistencyError::RewrittenHistory {
                sequence: link.sequence,
                detail: format!(
                    "it chains onto {} but {what} is {}",
                    link.previous_hash, self.reached.1
                ),
            });
        }
        if link.sequence == self.new.0 && link.hash != self.new.1 {
            return Err(ConsistencyError::RewrittenHistory {
                sequence: link.sequence,
                detail: format!(
                    "the segment ends at hash {} but the new head is {}",
                    link.hash, self.new.1
                ),
            });
        }
        self.reached = (link.sequence, link.hash);
        Ok(())
    }

    /// Ends the check: the segment must have reached the new head.
    pub fn finish(&self) -> Result<(), ConsistencyError> {
        match self.next_sequence() {
            None => Ok(()),
            Some(missing) => Err(ConsistencyError::RewrittenHistory {
                sequence: missing,
                detail: format!(
                    "the segment stops at sequence {} before the new head at {}",
                    self.reached.0, self.new.0
                ),
            }),
        }
    }
}

/// Checks a whole segment at once (see [`ExtensionCheck`]).
pub fn check_extension(
    kept: (u64, ChainHash),
    new: (u64, ChainHash),
    links: &[ChainLink],
) -> Result<(), ConsistencyError> {
    let mut check = ExtensionCheck::new(kept, new)?;
    for link in links {
        check.link(link)?;
    }
    check.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn instant() -> Timestamp {
        Timestamp::parse("2026-12-07T08:00:00.999999Z").unwrap()
    }

    fn head_hash() -> ChainHash {
        "3654c1cc4a0402b045ba18ddbb01c9d05f251b8491ac4c45ea1e2e1c9c70ffef"
            .parse()
            .unwrap()
    }

    fn hash_of(byte: u8) -> ChainHash {
        ChainHash::from_bytes([byte; 32])
    }

    fn segment(from: u64, hashes: &[u8]) -> Vec<ChainLink> {
        // Links from `from + 1` on, the first chaining onto `hash_of(hashes[0])`.
        hashes
            .windows(2)
            .zip(from + 1..)
            .map(|(pair, sequence)| ChainLink {
                sequence,
                previous_hash: hash_of(pair[0]),
                hash: hash_of(pair[1]),
            })
            .collect()
    }

    #[test]
    fn a_linked_segment_extends_the_kept_head() {
        // Proves the accepted case: same head without a segment, and a segment 3..=5 from 2 to 5.
        assert_eq!(
            check_extension((2, hash_of(2)), (2, hash_of(2)), &[]),
            Ok(())
        );
        let links = segment(2, &[2, 3, 4, 5]);
        assert_eq!(
            check_extension((2, hash_of(2)), (5, hash_of(5)), &links),
            Ok(())
        );
        assert_eq!(
            check_extension(
                EMPTY_HEAD,
                (1, hash_of(1)),
                &[ChainLink {
                    sequence: 1,
                    previous_hash: GENESIS_HASH,
                    hash: hash_of(1),
                }]
            ),
            Ok(())
        );
    }

    #[test]
    fn rollback_fork_and_rewritten_history_are_told_apart() {
        // Proves each refusal: a lower sequence, another hash at the same sequence, and segments
        // that do not link (wrong start, broken link, gap, wrong end, cut short, too long).
        assert_eq!(
            check_extension((5, hash_of(5)), (4, hash_of(4)), &[]),
            Err(ConsistencyError::Rollback {
                kept_sequence: 5,
                new_sequence: 4
            })
        );
        assert_eq!(
            check_extension((5, hash_of(5)), (5, hash_of(9)), &[]),
            Err(ConsistencyError::Fork {
                sequence: 5,
                kept_hash: hash_of(5),
                new_hash: hash_of(9)
            })
        );
        let rewritten =
            |links: &[ChainLink]| match check_extension((2, hash_of(2)), (5, hash_of(5)), links) {
                Err(ConsistencyError::RewrittenHistory { sequence, .. }) => Some(sequence),
                _ => None,
            };
        // Does not start at the kept head.
        assert_eq!(rewritten(&segment(2, &[9, 3, 4, 5])), Some(3));
        // A broken link in the middle.
        let mut links = segment(2, &[2, 3, 4, 5]);
        links[1].previous_hash = hash_of(8);
        assert_eq!(rewritten(&links), Some(4));
        // A gap.
        let mut links = segment(2, &[2, 3, 4, 5]);
        links.remove(1);
        assert_eq!(rewritten(&links), Some(4));
        // Ends elsewhere than the new head.
        assert_eq!(rewritten(&segment(2, &[2, 3, 4, 6])), Some(5));
        // Cut short.
        assert_eq!(rewritten(&segment(2, &[2, 3, 4])), Some(5));
        // Goes on past the new head.
        assert_eq!(rewritten(&segment(2, &[2, 3, 4, 5, 6])), Some(6));
    }

    #[test]
    fn a_signed_checkpoint_verifies_and_its_message_is_pinned() {
        // Proves the exact signed bytes (the documented format), the key id rule, the truncation
        // of the time to whole seconds, and that a fresh signature verifies.
        let key = test_key();
        let checkpoint = Checkpoint::sign(&key, 1, head_hash(), instant());
        let expected_key_id = &hex::encode(Sha256::digest(key.verifying_key().as_bytes()))[..16];
        assert_eq!(checkpoint.key_id, expected_key_id);
        assert_eq!(checkpoint.signed_at, "2026-12-07T08:00:00Z");
        assert_eq!(
            checkpoint.signed_message(),
            format!(
                "solidarity-ledger checkpoint v1\nsequence=1\nhash=3654c1cc4a0402b045ba18ddbb01c9d05f251b8491ac4c45ea1e2e1c9c70ffef\nsigned_at=2026-12-07T08:00:00Z\nkey_id={expected_key_id}\n"
            )
        );
        assert_eq!(checkpoint.verify(&key.verifying_key()), Ok(()));
        // Ed25519 is deterministic: the same inputs give the same signature.
        assert_eq!(
            Checkpoint::sign(&key, 1, head_hash(), instant()),
            checkpoint
        );
    }

    #[test]
    fn a_changed_field_or_signature_fails_verification() {
        // Proves that every signed field is covered: changing any one breaks the signature.
        let key = test_key();
        let public = key.verifying_key();
        let checkpoint = Checkpoint::sign(&key, 5, head_hash(), instant());
        let bad = |changed: Checkpoint| changed.verify(&public);
        let bad_signature = Err(CheckpointError::BadSignature {
            key_id: checkpoint.key_id.clone(),
        });

        let mut changed = checkpoint.clone();
        changed.sequence = 6;
        assert_eq!(bad(changed), bad_signature);
        let mut changed = checkpoint.clone();
        changed.hash[31] ^= 1;
        assert_eq!(bad(changed), bad_signature);
        let mut changed = checkpoint.clone();
        changed.signed_at = "2026-12-07T08:00:01Z".to_owned();
        assert_eq!(bad(changed), bad_signature);
        let mut changed = checkpoint.clone();
        changed.signature[0] ^= 1;
        assert_eq!(bad(changed), bad_signature);
        let mut changed = checkpoint.clone();
        changed.key_id = "0000000000000000".to_owned();
        assert!(matches!(
            bad(changed),
            Err(CheckpointError::KeyIdMismatch { .. })
        ));
    }

    #[test]
    fn another_key_is_refused_by_its_id() {
        // Proves that a checkpoint signed by another key is refused, naming both key ids.
        let checkpoint = Checkpoint::sign(&test_key(), 5, head_hash(), instant());
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert_eq!(
            checkpoint.verify(&other),
            Err(CheckpointError::KeyIdMismatch {
                expected: key_id(&other),
                found: checkpoint.key_id.clone(),
            })
        );
    }

    #[test]
    fn json_form_round_trips_and_is_strict() {
        // Proves the JSON form (field names, lower-case hex) and that malformed fields are refused.
        let checkpoint = Checkpoint::sign(&test_key(), 0, GENESIS_HASH, instant());
        let json = serde_json::to_string(&checkpoint).unwrap();
        assert_eq!(
            json,
            format!(
                "{{\"sequence\":0,\"hash\":\"{}\",\"signed_at\":\"2026-12-07T08:00:00Z\",\"key_id\":\"{}\",\"signature\":\"{}\"}}",
                "0".repeat(64),
                checkpoint.key_id,
                hex::encode(checkpoint.signature)
            )
        );
        let back: Checkpoint = serde_json::from_str(&json).unwrap();
        assert_eq!(back, checkpoint);
        assert_eq!(back.verify(&test_key().verifying_key()), Ok(()));

        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let refused = |field: &str, replacement: serde_json::Value| {
            let mut changed = value.clone();
            changed[field] = replacement;
            serde_json::from_value::<Checkpoint>(changed).is_err()
        };
        assert!(refused("hash", "A".repeat(64).into()));
        assert!(refused("hash", "0".repeat(62).into()));
        assert!(refused("signature", "F".repeat(128).into()));
        assert!(refused("signed_at", "2026-12-07T08:00:00.5Z".into()));
        assert!(refused("signed_at", "2026-12-07T09:00:00+01:00".into()));
        assert!(refused("key_id", "ABCDEF0123456789".into()));
        assert!(refused("key_id", "abc".into()));
        assert!(refused("extra", 1.into()));
    }

    #[test]
    fn keys_are_published_as_lower_case_hex() {
        // Proves the public and signing key text forms round-trip and refuse other spellings.
        let key = test_key();
        let public = key.verifying_key();
        let text = public_key_hex(&public);
        assert_eq!(text.len(), 64);
        assert_eq!(parse_public_key_hex(&text), Ok(public));
        assert_eq!(
            parse_public_key_hex(&text.to_uppercase()),
            Err(CheckpointError::MalformedPublicKey)
        );
        assert_eq!(
            parse_public_key_hex(&text[..62]),
            Err(CheckpointError::MalformedPublicKey)
        );
        let secret = signing_key_hex(&key);
        assert_eq!(
            parse_signing_key_hex(&format!("{secret}\n")).map(|key| key.to_bytes()),
            Ok(key.to_bytes())
        );
        assert!(parse_signing_key_hex("zz").is_err());
    }

    #[test]
    fn the_worked_example_is_pinned() {
        // Proves the worked example of docs/hash-chain.md ("Checkpoints"), whose values were
        // computed independently with Python's `cryptography` package: key bytes 32 × 0x07.
        let key = SigningKey::from_bytes(&[7; 32]);
        assert_eq!(
            public_key_hex(&key.verifying_key()),
            "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
        );
        let checkpoint = Checkpoint::sign(
            &key,
            1,
            head_hash(),
            Timestamp::parse("2026-12-07T08:00:00Z").unwrap(),
        );
        assert_eq!(
            serde_json::to_string(&checkpoint).unwrap(),
            "{\"sequence\":1,\"hash\":\"3654c1cc4a0402b045ba18ddbb01c9d05f251b8491ac4c45ea1e2e1c9c70ffef\",\"signed_at\":\"2026-12-07T08:00:00Z\",\"key_id\":\"fe812c12f3ab4ce6\",\"signature\":\"7e9054dfcfb57d2582b200ec543317b2f198a412d53ddd5c1351b56fe8fd77addc38cb3a551912a415fbc9be4fc7d665807328bfe50198287352697240c7e607\"}"
        );
    }
}
