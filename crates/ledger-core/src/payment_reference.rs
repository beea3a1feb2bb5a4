//! How a contributor's bank transfer names the batch it pays: an ISO 11649 structured creditor
//! reference (`RF18 5390 0754 7034`), unique to each batch, whose two check digits (ISO 7064
//! MOD 97-10, as IBANs use) catch a mistyped character when the reference comes back on a bank
//! statement. IBANs (ISO 13616) are checked with the same arithmetic.

use sha2::{Digest, Sha256};

/// The most characters a reference's body may have after `RF` and the check digits (ISO 11649).
pub const MAX_REFERENCE_BODY_LENGTH: usize = 21;

/// The length of the body of a batch's reference: 16 base-36 characters carry 80 bits of a hash
/// of the batch id, so two of ten million batches share one with a chance of about 4 × 10⁻¹¹;
/// the database's unique index refuses that case rather than let two batches share a reference.
pub const BATCH_REFERENCE_BODY_LENGTH: usize = 16;

const _: () = assert!(BATCH_REFERENCE_BODY_LENGTH <= MAX_REFERENCE_BODY_LENGTH);

/// Why a text is not a creditor reference (or not an IBAN).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    #[error("does not start with RF and two check digits")]
    NotStructured,
    #[error("has characters other than letters A–Z and digits")]
    NotAlphanumeric,
    #[error("is too long")]
    TooLong,
    #[error("has wrong check digits (a character is mistyped)")]
    WrongCheckDigits,
}

/// An ISO 11649 creditor reference, in its electronic form (`RF18539007547034`: upper case, no
/// spaces), with valid check digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditorReference(String);

impl CreditorReference {
    /// The reference whose body is `body` (1 to 21 letters and digits), with its check digits.
    pub fn with_body(body: &str) -> Result<CreditorReference, ReferenceError> {
        let body = body.to_ascii_uppercase();
        if body.is_empty() || !body.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
            return Err(ReferenceError::NotAlphanumeric);
        }
        if body.len() > MAX_REFERENCE_BODY_LENGTH {
            return Err(ReferenceError::TooLong);
        }
        let remainder = mod97(format!("{body}RF00").bytes());
        Ok(CreditorReference(format!("RF{:02}{body}", 98 - remainder)))
    }

    /// The reference of a batch: a body derived from its id (the first 80 bits of a SHA-256 of
    /// it, in base 36, 16 characters), so it can be shown before the batch is stored and read
    /// back from it.
    pub fn for_batch(batch_id: uuid::Uuid) -> CreditorReference {
        let digest = Sha256::new()
            .chain_update(b"solidarity-ledger batch creditor reference\n")
            .chain_update(batch_id.as_bytes())
            .finalize();
        let mut bits = digest[..10]
            .iter()
            .fold(0u128, |value, byte| (value << 8) | u128::from(*byte));
        let mut body = [b'0'; BATCH_REFERENCE_BODY_LENGTH];
        for place in body.iter_mut().rev() {
            // A remainder below 36 is one base-36 digit.
            let digit = u8::try_from(bits % 36).unwrap_or_default();
            *place = if digit < 10 {
                b'0' + digit
            } else {
                b'A' + digit - 10
            };
            bits /= 36;
        }
        let body: String = body.iter().map(|byte| char::from(*byte)).collect();
        // A body of 16 base-36 characters is always a valid body.
        CreditorReference::with_body(&body).unwrap_or(CreditorReference(String::new()))
    }

    /// Reads a reference as people and banks write it (spaces anywhere, any case) and checks its
    /// check digits: what comes back on a bank statement.
    pub fn parse(text: &str) -> Result<CreditorReference, ReferenceError> {
        let compact: String = text
            .chars()
            .filter(|letter| !letter.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let structured = compact.len() >= 5
            && compact.starts_with("RF")
            && compact.as_bytes()[2..4].iter().all(u8::is_ascii_digit);
        if !structured {
            return Err(ReferenceError::NotStructured);
        }
        if !compact.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
            return Err(ReferenceError::NotAlphanumeric);
        }
        if compact.len() > 4 + MAX_REFERENCE_BODY_LENGTH {
            return Err(ReferenceError::TooLong);
        }
        let rearranged = compact[4..].bytes().chain(compact[..4].bytes());
        if mod97(rearranged) != 1 {
            return Err(ReferenceError::WrongCheckDigits);
        }
        Ok(CreditorReference(compact))
    }

    /// The electronic form (`RF18539007547034`): what a payment file or a bank portal takes.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The printed form, in groups of four (`RF18 5390 0754 7034`): what people read and type.
    pub fn printed(&self) -> String {
        grouped(&self.0)
    }
}

impl std::fmt::Display for CreditorReference {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Groups of four characters separated by spaces.
fn grouped(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for (index, letter) in text.chars().enumerate() {
        if index > 0 && index % 4 == 0 {
            out.push(' ');
        }
        out.push(letter);
    }
    out
}

/// ISO 7064 MOD 97-10 of alphanumeric characters, letters as two digits (A = 10 … Z = 35),
/// computed digit by digit so any length fits.
fn mod97(characters: impl IntoIterator<Item = u8>) -> u32 {
    characters.into_iter().fold(0u32, |remainder, byte| {
        let value = match byte {
            b'0'..=b'9' => u32::from(byte - b'0'),
            b'A'..=b'Z' => u32::from(byte - b'A') + 10,
            b'a'..=b'z' => u32::from(byte - b'a') + 10,
            _ => 0,
        };
        if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        }
    })
}

/// An IBAN in electronic form (`FR7630006000011234567890189`), checked: two letters of country,
/// two check digits, up to 30 letters and digits, MOD 97-10 = 1 (ISO 13616). The per-country
/// lengths are not checked here.
pub fn checked_iban(text: &str) -> Result<String, ReferenceError> {
    let compact: String = text
        .chars()
        .filter(|letter| !letter.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let structured = compact.len() >= 5
        && compact.as_bytes()[..2].iter().all(u8::is_ascii_uppercase)
        && compact.as_bytes()[2..4].iter().all(u8::is_ascii_digit);
    if !structured {
        return Err(ReferenceError::NotStructured);
    }
    if !compact.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
        return Err(ReferenceError::NotAlphanumeric);
    }
    if compact.len() > 34 {
        return Err(ReferenceError::TooLong);
    }
    if mod97(compact[4..].bytes().chain(compact[..4].bytes())) != 1 {
        return Err(ReferenceError::WrongCheckDigits);
    }
    Ok(compact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standards_examples_are_made_and_verified() {
        // Proves the check digits of ISO 11649's example (RF18 5390 0754 7034) and of the usual
        // published examples are computed, that the printed and electronic forms read back, and
        // that the longest body (21 characters) is accepted and a longer one refused.
        for (body, reference) in [
            ("539007547034", "RF18539007547034"),
            ("000000000539007547034", "RF18000000000539007547034"),
            ("2348231", "RF712348231"),
            ("G72UUR", "RF45G72UUR"),
            ("18K5", "RF6518K5"),
        ] {
            let made = CreditorReference::with_body(body).unwrap();
            assert_eq!(made.as_str(), reference);
            assert_eq!(CreditorReference::parse(reference).unwrap(), made);
            assert_eq!(CreditorReference::parse(&made.printed()).unwrap(), made);
        }
        assert_eq!(
            CreditorReference::parse("rf18 5390 0754 7034")
                .unwrap()
                .printed(),
            "RF18 5390 0754 7034"
        );
        assert_eq!(
            CreditorReference::with_body(&"1".repeat(22)),
            Err(ReferenceError::TooLong)
        );
        assert_eq!(
            CreditorReference::with_body("12-3"),
            Err(ReferenceError::NotAlphanumeric)
        );
    }

    #[test]
    fn a_mistyped_reference_is_refused() {
        // Proves every mistyped digit and every swap of two neighbours of a reference is caught
        // by its check digits (what MOD 97-10 guarantees; a letter typed for a digit changes
        // the number's length and is caught only with high probability), and malformed texts
        // are named.
        let reference = "RF18539007547034";
        for at in 2..reference.len() {
            for replacement in "0123456789".chars() {
                let mut changed: Vec<char> = reference.chars().collect();
                if changed[at] == replacement {
                    continue;
                }
                changed[at] = replacement;
                let changed: String = changed.into_iter().collect();
                assert!(CreditorReference::parse(&changed).is_err(), "{changed}");
            }
        }
        for at in 4..reference.len() - 1 {
            let mut swapped: Vec<char> = reference.chars().collect();
            if swapped[at] == swapped[at + 1] {
                continue;
            }
            swapped.swap(at, at + 1);
            let swapped: String = swapped.into_iter().collect();
            assert!(CreditorReference::parse(&swapped).is_err(), "{swapped}");
        }
        assert_eq!(
            CreditorReference::parse("XX18539007547034"),
            Err(ReferenceError::NotStructured)
        );
        assert_eq!(
            CreditorReference::parse("RF18-5390"),
            Err(ReferenceError::NotAlphanumeric)
        );
    }

    #[test]
    fn batch_references_are_valid_and_distinct() {
        // Proves a batch's reference is a valid RF reference of fixed length, the same for the
        // same id, and different for ids that differ in one bit only (sequential ids included).
        let mut seen = std::collections::HashSet::new();
        for counter in 0..10_000u64 {
            let reference = CreditorReference::for_batch(uuid::Uuid::from_u64_pair(7, counter));
            assert_eq!(reference.as_str().len(), 4 + BATCH_REFERENCE_BODY_LENGTH);
            assert_eq!(
                CreditorReference::parse(reference.as_str()),
                Ok(reference.clone())
            );
            assert!(seen.insert(reference));
        }
        let id = uuid::Uuid::from_u64_pair(1, 2);
        assert_eq!(
            CreditorReference::for_batch(id),
            CreditorReference::for_batch(id)
        );
    }

    #[test]
    fn ibans_are_checked() {
        // Proves a valid IBAN (as printed, with spaces) is accepted in electronic form and a
        // mistyped one refused.
        assert_eq!(
            checked_iban("FR76 3000 6000 0112 3456 7890 189").unwrap(),
            "FR7630006000011234567890189"
        );
        assert_eq!(
            checked_iban("FR7630006000011234567890188"),
            Err(ReferenceError::WrongCheckDigits)
        );
        assert_eq!(checked_iban("12"), Err(ReferenceError::NotStructured));
    }
}
