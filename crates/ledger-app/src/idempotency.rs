//! Idempotent writes: every write carries a key chosen by the caller. The same key with the same
//! request answers the first response again and writes nothing; the same key with another request
//! is refused (`idempotency_conflict`). Keys are scoped to the caller's organisation, never expire,
//! and are stored in the same database transaction as the effect (see the store's writer).
//!
//! "The same request" means the same meaning, not the same bytes: the operation's target (for the
//! HTTP door, the method and the path) and the body's JSON value in canonical form
//! ([`canonical_json`]: no insignificant whitespace, object keys sorted, strings and numbers
//! re-serialised), so a replay whose JSON differs only in whitespace, key order or string escapes
//! is a replay. Fingerprints stored before this rule were of the body's bytes; they stay valid: a
//! request matches a stored fingerprint by its canonical form or by its exact bytes.

use ledger_store::StoredResponse;
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// The longest key accepted (the API contract: 1–255 printable ASCII characters).
pub const MAX_IDEMPOTENCY_KEY_LENGTH: usize = 255;

/// A write's idempotency key and the fingerprint of its request.
pub struct IdempotencyKey {
    key: String,
    /// SHA-256 of the target and the body's canonical JSON: what is stored with the key.
    fingerprint: [u8; 32],
    /// The hasher fed with the target, and the body's bytes: the fingerprint of the older byte
    /// rule, computed only when a stored fingerprint is not the canonical one.
    bytes_rule: (Sha256, Box<dyn AsRef<[u8]> + Send + Sync>),
}

impl std::fmt::Debug for IdempotencyKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("IdempotencyKey")
            .field("key", &self.key)
            .field("fingerprint", &hex::encode(self.fingerprint))
            .finish_non_exhaustive()
    }
}

impl IdempotencyKey {
    /// Checks `key` (1–255 printable ASCII characters) and fingerprints the request: `target`
    /// names what is asked (the HTTP door passes `METHOD\npath`), `body` is its JSON.
    pub fn new(
        key: &str,
        target: &str,
        body: impl AsRef<[u8]> + Send + Sync + 'static,
    ) -> Result<IdempotencyKey, AppError> {
        if key.is_empty()
            || key.len() > MAX_IDEMPOTENCY_KEY_LENGTH
            || !key.bytes().all(|byte| (0x20..=0x7e).contains(&byte))
        {
            return Err(AppError::bad_request(
                "invalid_idempotency_key",
                "an Idempotency-Key is 1 to 255 printable ASCII characters",
            ));
        }
        let mut hasher = Sha256::new();
        hasher.update(target.as_bytes());
        hasher.update(b"\n");
        let bytes_rule = hasher.clone();
        // A body that does not parse was refused before; a failure here is the nesting limit.
        let canonical = canonical_json(body.as_ref())
            .map_err(|error| AppError::bad_request("malformed_json", error.to_string()))?;
        hasher.update(&canonical);
        Ok(IdempotencyKey {
            key: key.to_owned(),
            fingerprint: hasher.finalize().into(),
            bytes_rule: (bytes_rule, Box::new(body)),
        })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// The request's body as received (what a proposal keeps, to run it when approved).
    pub fn body(&self) -> &[u8] {
        (*self.bytes_rule.1).as_ref()
    }

    /// The fingerprint stored with the key.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// True when a stored response answers this request: same canonical form, or (for keys stored
    /// before the canonical form) the same bytes.
    pub fn matches(&self, stored: &StoredResponse) -> bool {
        if stored.fingerprint == self.fingerprint {
            return true;
        }
        let (mut hasher, bytes) = (self.bytes_rule.0.clone(), &self.bytes_rule.1);
        hasher.update((**bytes).as_ref());
        <[u8; 32]>::from(hasher.finalize()) == stored.fingerprint
    }
}

/// The refusal of a key used before with another request.
pub fn conflict() -> AppError {
    AppError::conflict(
        "idempotency_conflict",
        "this Idempotency-Key was already used with a different request",
    )
}

/// The canonical form of a JSON document: no insignificant whitespace, each object's members in
/// order of their keys' (escaped) bytes at every depth, strings and numbers written as serde_json
/// writes them (so `"\u00e9"` and `"é"` are one string, `1.0` and `1.00` one number, but `1` and
/// `1.0` two). Two documents with the same meaning have the same canonical form.
///
/// Streamed from the text, without building a JSON value: a 100,000-line batch is read once more,
/// each object's members gathered in a reused buffer and sorted there. Nesting is bounded by the
/// parser's limit (128).
pub fn canonical_json(bytes: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
    use serde::de::DeserializeSeed;
    let mut out = Vec::with_capacity(bytes.len());
    let mut spare = Spare::default();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    Canonical {
        out: &mut out,
        spare: &mut spare,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(out)
}

/// Buffers given back by finished objects, for the next ones.
#[derive(Default)]
struct Spare {
    buffers: Vec<Vec<u8>>,
    /// Members of an object: where its key starts, where its value starts, where it ends.
    members: Vec<Vec<(usize, usize, usize)>>,
}

/// Writes the canonical form of one value into `out`.
struct Canonical<'a> {
    out: &'a mut Vec<u8>,
    spare: &'a mut Spare,
}

fn write_json_string(out: &mut Vec<u8>, text: &str) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, text)
}

impl<'de> serde::de::DeserializeSeed<'de> for Canonical<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Canonical<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<(), E> {
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<(), E> {
        serde_json::to_writer(self.out, &value).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<(), E> {
        serde_json::to_writer(self.out, &value).map_err(E::custom)
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<(), E> {
        serde_json::to_writer(self.out, &value).map_err(E::custom)
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<(), E> {
        write_json_string(self.out, value).map_err(E::custom)
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        self.out.push(b'[');
        let mut first = true;
        loop {
            if !first {
                self.out.push(b',');
            }
            let item = Canonical {
                out: &mut *self.out,
                spare: &mut *self.spare,
            };
            if items.next_element_seed(item)?.is_none() {
                if !first {
                    self.out.pop();
                }
                break;
            }
            first = false;
        }
        self.out.push(b']');
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        let mut buffer = self.spare.buffers.pop().unwrap_or_default();
        let mut members = self.spare.members.pop().unwrap_or_default();
        buffer.clear();
        members.clear();
        loop {
            let key_start = buffer.len();
            if entries
                .next_key_seed(CanonicalKey { out: &mut buffer })?
                .is_none()
            {
                break;
            }
            let value_start = buffer.len();
            entries.next_value_seed(Canonical {
                out: &mut buffer,
                spare: &mut *self.spare,
            })?;
            members.push((key_start, value_start, buffer.len()));
        }
        // Stable: a key given twice keeps its members in document order.
        members.sort_by(|left, right| buffer[left.0..left.1].cmp(&buffer[right.0..right.1]));
        self.out.push(b'{');
        for (index, &(key_start, value_start, end)) in members.iter().enumerate() {
            if index > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(&buffer[key_start..value_start]);
            self.out.push(b':');
            self.out.extend_from_slice(&buffer[value_start..end]);
        }
        self.out.push(b'}');
        self.spare.buffers.push(buffer);
        self.spare.members.push(members);
        Ok(())
    }
}

/// Writes an object's key, escaped, into the object's buffer.
struct CanonicalKey<'a> {
    out: &'a mut Vec<u8>,
}

impl<'de> serde::de::DeserializeSeed<'de> for CanonicalKey<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for CanonicalKey<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<(), E> {
        write_json_string(self.out, value).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> String {
        String::from_utf8(canonical_json(text.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn the_canonical_form_keeps_meaning_and_drops_layout() {
        // Proves whitespace, key order (at every depth) and string escapes do not change the
        // canonical form, while any change of value, type or array order does.
        let compact = r#"{"a":[1,{"c":"é","b":null}],"b":"1.00","z":true}"#;
        assert_eq!(
            canonical(compact),
            compact.replace(r#"{"c":"é","b":null}"#, r#"{"b":null,"c":"é"}"#)
        );
        assert_eq!(
            canonical(
                "{ \"z\" : true,\n \"b\": \"1.00\", \"a\": [ 1, { \"b\": null, \"c\": \"\\u00e9\" } ] }"
            ),
            canonical(compact)
        );
        assert_eq!(
            canonical(" [ {} , [ ] , { \"b\" : [ 1 , -2 , 0.5 ] , \"a\" : { } } ] "),
            r#"[{},[],{"a":{},"b":[1,-2,0.5]}]"#
        );
        assert_eq!(canonical("{}"), "{}");
        assert_eq!(canonical("\"x\""), "\"x\"");
        assert!(canonical_json(b"{} {}").is_err());
        assert!(canonical_json(b"{\"a\":").is_err());
        for different in [
            r#"{"a":[{"c":"é","b":null},1],"b":"1.00","z":true}"#,
            r#"{"a":[1,{"c":"é","b":null}],"b":"1.0","z":true}"#,
            r#"{"a":[1,{"c":"é","b":null}],"b":1.00,"z":true}"#,
            r#"{"a":[1,{"c":"e","b":null}],"b":"1.00","z":true}"#,
            r#"{"a":[1,{"c":"é"}],"b":"1.00","z":true}"#,
        ] {
            assert_ne!(canonical(different), canonical(compact), "{different}");
        }
    }
}
