//! The secrets of people and keys: passwords (argon2id, with OWASP's recommended parameters) and
//! random tokens (invitations, access and refresh tokens, API keys), of which only a SHA-256 is
//! ever stored. A token says what it is by its prefix, so a leaked one is recognisable.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// The fewest characters of a password: OWASP's minimum for a password used without a second
/// factor is 15; 12 is the floor its ASVS accepts.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The most characters of a password (long passphrases are welcome; the bound keeps hashing cheap
/// to refuse).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Prefix of an invitation token.
pub const INVITATION_PREFIX: &str = "sli_";
/// Prefix of an access token.
pub const ACCESS_PREFIX: &str = "sls_";
/// Prefix of a refresh token.
pub const REFRESH_PREFIX: &str = "slr_";
/// Prefix of an API key.
pub const KEY_PREFIX: &str = "slk_";
/// Hex digits of an API key's visible identifier after [`KEY_PREFIX`].
pub const KEY_ID_DIGITS: usize = 8;

/// argon2id, m = 19 MiB, t = 2, p = 1: the first configuration OWASP's password storage cheat
/// sheet recommends.
fn hasher() -> Result<Argon2<'static>, AppError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(AppError::internal_message)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks a new password against the rule: 12 to 256 characters, not only spaces.
pub fn check_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!(
            "must have at least {MIN_PASSWORD_CHARS} characters (a passphrase is welcome)"
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!("must have at most {MAX_PASSWORD_CHARS} characters"));
    }
    if password.trim().is_empty() {
        return Err("must not be only spaces".to_owned());
    }
    Ok(())
}

/// The PHC string of a password's argon2id hash, with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(AppError::internal_message)
}

/// A hash no password matches, verified when the email is unknown so that an unknown email
/// costs the same time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy: no password matches this").unwrap_or_default())
}

/// Whether `password` matches `stored` (a PHC string); with no stored hash, the same work is done
/// against a decoy and the answer is no.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    let (phc, real) = match stored {
        Some(phc) => (phc, true),
        None => (decoy_hash(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(hasher) = hasher() else {
        return false;
    };
    hasher.verify_password(password.as_bytes(), &parsed).is_ok() && real
}

/// SHA-256 of a token: what is stored and looked up.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A new random token with `prefix` (256 random bits, hex) and its hash.
pub fn new_token(prefix: &str) -> (String, [u8; 32]) {
    let bytes: [u8; 32] = rand::random();
    let token = format!("{prefix}{}", hex::encode(bytes));
    let hash = token_hash(&token);
    (token, hash)
}

/// A new API key: its visible identifier (`slk_` and 8 hex digits), the whole key
/// (`slk_<id>_<64 hex digits>`) and its hash.
pub fn new_api_key() -> (String, String, [u8; 32]) {
    let id: [u8; KEY_ID_DIGITS / 2] = rand::random();
    let prefix = format!("{KEY_PREFIX}{}", hex::encode(id));
    let (key, hash) = new_token(&format!("{prefix}_"));
    (prefix, key, hash)
}

/// The visible identifier of an API key as presented, if it has the key's form.
pub fn api_key_prefix(key: &str) -> Option<&str> {
    let prefix = key.get(..KEY_PREFIX.len() + KEY_ID_DIGITS)?;
    let rest = key.get(KEY_PREFIX.len() + KEY_ID_DIGITS..)?;
    (prefix.starts_with(KEY_PREFIX) && rest.starts_with('_')).then_some(prefix)
}

/// Compares two hashes in time independent of where they differ.
pub fn same_hash(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hashed_with_argon2id_and_checked() {
        // Proves a password verifies against its own hash only, that the stored form is an
        // argon2id PHC string with OWASP's parameters, and that a missing hash never verifies.
        let hash = hash_password("correct horse battery staple").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery staple", Some(&hash)));
        assert!(!verify_password(
            "correct horse battery stapler",
            Some(&hash)
        ));
        assert!(!verify_password("decoy: no password matches this", None));
        assert!(!verify_password("anything", Some("not a phc string")));
    }

    #[test]
    fn the_password_rule_bounds_length_and_refuses_blank() {
        // Proves the rule's three refusals and that a long passphrase passes.
        assert!(check_password("short").is_err());
        assert!(check_password(&" ".repeat(20)).is_err());
        assert!(check_password(&"x".repeat(257)).is_err());
        assert!(check_password("une phrase de passe assez longue").is_ok());
    }

    #[test]
    fn tokens_and_keys_carry_their_kind_and_are_stored_as_hashes() {
        // Proves tokens are prefixed and random, that the stored hash is the token's SHA-256, and
        // that an API key's visible identifier is read back from the key.
        let (first, hash) = new_token(ACCESS_PREFIX);
        let (second, _) = new_token(ACCESS_PREFIX);
        assert!(first.starts_with("sls_") && first.len() == 4 + 64);
        assert_ne!(first, second);
        assert_eq!(hash, token_hash(&first));
        let (prefix, key, key_hash) = new_api_key();
        assert_eq!(api_key_prefix(&key), Some(prefix.as_str()));
        assert_eq!(key_hash, token_hash(&key));
        assert_eq!(api_key_prefix("slk_short"), None);
        assert_eq!(api_key_prefix("sls_0123456789abcdef"), None);
        assert!(same_hash(&key_hash, &token_hash(&key)));
        assert!(!same_hash(&key_hash, &hash));
    }
}
