//! A fast reader of JSONL export lines exactly as the ledger writes them: one pass over the line
//! that writes the `SLJ1` encoding as it goes and hashes it, without building a record.
//!
//! It accepts only the layout [`ledger_core::export::ExportWriter`] produces (fields in that order, no
//! whitespace, plain integers, the short escapes) and answers `None` for anything else, which the
//! caller then parses as general JSON ([`digest_jsonl_line`]). So it must never
//! accept a line that JSON parsing would read differently: the tests compare the two on random
//! records and on random damage to their lines.

use std::ops::Range;

use memchr::memchr2;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use ledger_core::chain::{ChainHash, ENCODING_V1_MAGIC, Movements, RecordDigest, first_unbalanced};
use ledger_core::export::{ExportItem, parse_jsonl_line};

use crate::verifier::DigestedLine;

/// Buffers reused from one line to the next, so scanning allocates nothing per line.
#[derive(Debug, Default)]
pub struct JsonlScanner {
    /// The `SLJ1` encoding of the line being read.
    encoding: Vec<u8>,
    /// Its postings: account, where the currency's text sits in `encoding`, amount.
    postings: Vec<(Uuid, Range<usize>, i64)>,
}

/// The keys of the text fields between `transaction_id` and `postings`, in the order both the line
/// and the encoding have them.
const TEXT_KEYS: [&[u8]; 7] = [
    b",\"kind\":",
    b",\"effective_date\":",
    b",\"recorded_at\":",
    b",\"actor_subject\":",
    b",\"actor_organisation\":",
    b",\"memo\":",
    b",\"metadata\":",
];

impl JsonlScanner {
    /// Digests a canonical transaction line and tallies its postings into `movements`; `None`
    /// (with `movements` untouched) when the line is anything else.
    pub fn scan(&mut self, line: &[u8], movements: &mut Movements) -> Option<RecordDigest> {
        let encoding = &mut self.encoding;
        let postings = &mut self.postings;
        encoding.clear();
        postings.clear();
        let mut cursor = Cursor { bytes: line, at: 0 };

        encoding.extend_from_slice(ENCODING_V1_MAGIC);
        cursor.literal(b"{\"sequence\":")?;
        let sequence = cursor.unsigned()?;
        encoding.extend_from_slice(&sequence.to_be_bytes());
        cursor.literal(b",\"transaction_id\":")?;
        encoding.extend_from_slice(cursor.uuid()?.as_bytes());
        for key in TEXT_KEYS {
            cursor.literal(key)?;
            cursor.text(encoding)?;
        }

        cursor.literal(b",\"postings\":[")?;
        let count_at = encoding.len();
        encoding.extend_from_slice(&[0; 4]);
        if cursor.literal(b"]").is_none() {
            loop {
                cursor.literal(b"{\"account_id\":")?;
                let account_id = cursor.uuid()?;
                encoding.extend_from_slice(account_id.as_bytes());
                cursor.literal(b",\"currency\":")?;
                let currency_at = encoding.len() + 4;
                cursor.text(encoding)?;
                let currency = currency_at..encoding.len();
                cursor.literal(b",\"amount_minor\":")?;
                let amount_minor = cursor.signed()?;
                encoding.extend_from_slice(&amount_minor.to_be_bytes());
                cursor.literal(b"}")?;
                postings.push((account_id, currency, amount_minor));
                match cursor.byte()? {
                    b',' => {}
                    b']' => break,
                    _ => return None,
                }
            }
        }
        let count = u32::try_from(postings.len()).ok()?;
        encoding[count_at..count_at + 4].copy_from_slice(&count.to_be_bytes());

        cursor.literal(b",\"previous_hash\":")?;
        let previous_hash = cursor.hash()?;
        cursor.literal(b",\"hash\":")?;
        let hash = cursor.hash()?;
        cursor.literal(b"}")?;
        if cursor.at != line.len() {
            return None;
        }

        let mut hasher = Sha256::new();
        hasher.update(previous_hash.as_bytes());
        hasher.update(&encoding[..]);
        let computed = ChainHash::from_bytes(hasher.finalize().into());
        // Each currency's text was checked to be UTF-8 as it was read.
        let currency_of = |range: &Range<usize>| std::str::from_utf8(&encoding[range.clone()]).ok();
        let mut amounts = Vec::with_capacity(postings.len());
        for (_, currency, amount_minor) in postings.iter() {
            amounts.push((currency_of(currency)?, *amount_minor));
        }
        let unbalanced = first_unbalanced(amounts.iter().copied());
        for (account_id, currency, amount_minor) in postings.iter() {
            movements.add(
                *account_id,
                currency_of(currency)?,
                i128::from(*amount_minor),
            );
        }
        Some(RecordDigest {
            sequence,
            previous_hash,
            hash,
            computed,
            postings_count: u64::from(count),
            unbalanced,
        })
    }
}

/// An unsigned integer as the ledger writes it: `0`, or digits without a leading zero, in range.
pub(crate) fn canonical_u64(text: &[u8]) -> Option<u64> {
    if matches!(text, [] | [b'0', _, ..]) {
        return None;
    }
    text.iter().try_fold(0_u64, |value, digit| {
        if !digit.is_ascii_digit() {
            return None;
        }
        value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}

/// A signed integer as the ledger writes it: [`canonical_u64`]'s digits after an optional minus
/// sign, in range (`-0` is not written, so it is not taken).
pub(crate) fn canonical_i64(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix(b"-") {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    if matches!(digits, [] | [b'0', _, ..]) {
        return None;
    }
    // Accumulated below zero, so `i64::MIN` fits.
    let below_zero = digits.iter().try_fold(0_i64, |value, digit| {
        if !digit.is_ascii_digit() {
            return None;
        }
        value.checked_mul(10)?.checked_sub(i64::from(digit - b'0'))
    })?;
    match (negative, below_zero) {
        (true, 0) => None,
        (true, value) => Some(value),
        (false, value) => value.checked_neg(),
    }
}

/// A position in a line being read.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// Steps over `expected`, if the line has it here.
    fn literal(&mut self, expected: &[u8]) -> Option<()> {
        let end = self.at.checked_add(expected.len())?;
        if self.bytes.get(self.at..end)? == expected {
            self.at = end;
            Some(())
        } else {
            None
        }
    }

    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    /// The text of a number: an optional minus sign and digits (checked by the caller).
    fn number(&mut self) -> &'a [u8] {
        let start = self.at;
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        while matches!(self.bytes.get(self.at), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        &self.bytes[start..self.at]
    }

    fn unsigned(&mut self) -> Option<u64> {
        canonical_u64(self.number())
    }

    fn signed(&mut self) -> Option<i64> {
        canonical_i64(self.number())
    }

    /// The contents of a string without escapes (identifiers and hashes are written without any).
    fn plain_string(&mut self) -> Option<&'a [u8]> {
        self.literal(b"\"")?;
        let rest = &self.bytes[self.at..];
        let stop = memchr2(b'"', b'\\', rest)?;
        if rest[stop] != b'"' {
            return None;
        }
        self.at += stop + 1;
        Some(&rest[..stop])
    }

    /// A UUID in any form `Uuid::parse_str` takes (what JSON parsing would accept).
    fn uuid(&mut self) -> Option<Uuid> {
        ledger_core::export::canonical_uuid(self.plain_string()?)
    }

    /// A chain hash: 64 hexadecimal digits.
    fn hash(&mut self) -> Option<ChainHash> {
        ledger_core::export::canonical_hash(self.plain_string()?)
    }

    /// A string appended to `encoding` as `SLJ1` text: its length as four big-endian bytes, then
    /// its decoded UTF-8 bytes. Only the short escapes are decoded; `\u` is left to the general
    /// parser, as are raw control characters and invalid UTF-8, which JSON refuses.
    fn text(&mut self, encoding: &mut Vec<u8>) -> Option<()> {
        self.literal(b"\"")?;
        let length_at = encoding.len();
        encoding.extend_from_slice(&[0; 4]);
        loop {
            let rest = &self.bytes[self.at..];
            let stop = memchr2(b'"', b'\\', rest)?;
            let plain = &rest[..stop];
            if plain.iter().any(|byte| *byte < 0x20) {
                return None;
            }
            encoding.extend_from_slice(plain);
            self.at += stop + 1;
            if rest[stop] == b'"' {
                break;
            }
            let decoded = match self.byte()? {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                _ => return None,
            };
            encoding.push(decoded);
        }
        let text = &encoding[length_at + 4..];
        std::str::from_utf8(text).ok()?;
        let length = u32::try_from(text.len()).ok()?;
        encoding[length_at..length_at + 4].copy_from_slice(&length.to_be_bytes());
        Some(())
    }
}

/// Parses and digests one line of a JSONL export (without its line break), tallying its postings
/// into `movements`. Lines as the ledger writes them take a fast path that hashes while it reads
/// ([`JsonlScanner`]); any other line is parsed as JSON, which accepts what the fast path
/// would and words the error for what it would not. `scanner` is reused between calls.
pub fn digest_jsonl_line(
    line: &[u8],
    scanner: &mut JsonlScanner,
    movements: &mut Movements,
) -> Result<DigestedLine, String> {
    if let Some(digest) = scanner.scan(line, movements) {
        return Ok(DigestedLine::Record(digest));
    }
    match parse_jsonl_line(line)? {
        ExportItem::Record(record) => {
            movements.add_record(&record);
            Ok(DigestedLine::Record(RecordDigest::of(&record)))
        }
        ExportItem::End(end) => Ok(DigestedLine::End(end)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::chain::{GENESIS_HASH, JournalRecord, RecordPosting};
    use proptest::prelude::*;

    /// What the general path makes of a line: its digest and the movements of its postings.
    fn general(line: &[u8]) -> Option<(RecordDigest, Movements)> {
        match parse_jsonl_line(line) {
            Ok(ExportItem::Record(record)) => {
                let mut movements = Movements::default();
                movements.add_record(&record);
                Some((RecordDigest::of(&record), movements))
            }
            _ => None,
        }
    }

    fn fast(line: &[u8]) -> Option<(RecordDigest, Movements)> {
        let mut movements = Movements::default();
        let digest = JsonlScanner::default().scan(line, &mut movements)?;
        Some((digest, movements))
    }

    fn line_of(record: &JournalRecord) -> Vec<u8> {
        serde_json::to_vec(record).unwrap()
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        // Plain text, the characters JSON escapes, control characters, and non-ASCII letters.
        proptest::collection::vec(
            prop_oneof![
                4 => proptest::char::range('a', 'z'),
                1 => Just('"'),
                1 => Just('\\'),
                1 => Just('/'),
                1 => Just('\n'),
                1 => Just('\t'),
                1 => Just('\u{1}'),
                1 => Just('é'),
                1 => Just('ø'),
                1 => Just('{'),
                1 => Just(','),
            ],
            0..12,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    prop_compose! {
        fn record_strategy()(
            sequence in any::<u64>(),
            id in any::<u128>(),
            texts in proptest::collection::vec(text_strategy(), 7),
            postings in proptest::collection::vec(
                (any::<u128>(), prop_oneof![Just("EUR".to_owned()), Just("XOF".to_owned()), text_strategy()], any::<i64>()),
                0..4,
            ),
            previous in any::<[u8; 32]>(),
            hash in any::<[u8; 32]>(),
        ) -> JournalRecord {
            JournalRecord {
                sequence,
                transaction_id: Uuid::from_u128(id),
                kind: texts[0].clone(),
                effective_date: texts[1].clone(),
                recorded_at: texts[2].clone(),
                actor_subject: texts[3].clone(),
                actor_organisation: texts[4].clone(),
                memo: texts[5].clone(),
                metadata: texts[6].clone(),
                postings: postings
                    .into_iter()
                    .map(|(account, currency, amount_minor)| RecordPosting {
                        account_id: Uuid::from_u128(account),
                        currency,
                        amount_minor,
                    })
                    .collect(),
                previous_hash: ChainHash::from_bytes(previous),
                hash: ChainHash::from_bytes(hash),
            }
        }
    }

    #[test]
    fn a_ledger_line_takes_the_fast_path() {
        // Proves the fast path reads what the ledger writes (so the speed is real) and agrees with
        // the general path on it, hash included.
        let record = crate::test_journal::chain_of(3).remove(2);
        let line = line_of(&record);
        let (digest, movements) = fast(&line).expect("the canonical line is read fast");
        assert_eq!(digest.computed, record.hash);
        assert_eq!(Some((digest, movements)), general(&line));
    }

    #[test]
    fn other_layouts_are_left_to_the_general_parser() {
        // Proves lines the fast path does not know are declined, not misread: whitespace, another
        // field order, a `\u` escape, a leading zero, a float, negative zero, trailing bytes.
        let mut record = crate::test_journal::chain_of(1).remove(0);
        record.hash = GENESIS_HASH;
        let line = String::from_utf8(line_of(&record)).unwrap();
        let variants = [
            line.replacen(",\"kind\"", ", \"kind\"", 1),
            line.replacen("{\"sequence\":1,", "{\"sequence\":01,", 1),
            line.replacen("{\"sequence\":1,", "{\"sequence\":1.0,", 1),
            line.replacen("\"memo\":\"", "\"memo\":\"\\u0041", 1),
            line.replacen("\"amount_minor\":100}", "\"amount_minor\":-0}", 1),
            format!("{line} "),
            line.replacen("{\"sequence\":1,", "{\"sequence\":1,\"sequence\":1,", 1),
        ];
        for variant in variants {
            assert!(variant != line);
            assert_eq!(fast(variant.as_bytes()), None, "{variant}");
        }
        assert!(fast(line.as_bytes()).is_some());
    }

    proptest! {
        #[test]
        fn the_fast_path_reads_every_written_record_as_json_does(record in record_strategy()) {
            // Proves any record the writer emits, whatever its text, is digested the same by both
            // paths; and the fast path takes every one but those with a `\u` escape.
            let line = line_of(&record);
            let fast = fast(&line);
            let has_unicode_escape = line.windows(2).any(|pair| pair == b"\\u");
            prop_assert!(fast.is_some() || has_unicode_escape);
            if let Some(fast) = fast {
                prop_assert_eq!(Some(fast), general(&line));
            }
        }

        #[test]
        fn damage_is_never_misread(
            record in record_strategy(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            // Proves that when bytes of a line are changed, the fast path either declines the line
            // or reads exactly what JSON parsing reads: it never accepts what JSON refuses.
            let mut line = line_of(&record);
            for (index, byte) in edits {
                let at = index.index(line.len());
                line[at] = byte;
            }
            if let Some(fast) = fast(&line) {
                prop_assert_eq!(Some(fast), general(&line));
            }
        }
    }
}
