//! People and keys: users who sign in (invited by the network's admins, a password set with a
//! single-use invitation), their sessions (a short-lived access token and a revocable refresh
//! token), API keys for partners' own systems, and the security events that record all of it.
//!
//! These operations are [`crate::Action`]s, not replayed commands: their answers carry secrets
//! (an invitation, an access token, a key) that must never be stored, or their effect is the same
//! however often they run. Signing in, accepting an invitation and refreshing a session are
//! public: the credential they check is the caller's proof.

pub mod authenticate;
pub mod event_kinds;
pub mod events;
pub mod keys;
pub mod secrets;
pub mod sessions;
pub mod users;

use crate::people::event_kinds::SecurityEventKind;
use chrono::{DateTime, Utc};
use ledger_store::people::{ApiKeyRow, SecurityEventRow, UserRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::App;
use crate::caller::Role;
use crate::error::AppError;

/// How long an invitation can be used.
pub const INVITATION_LIFETIME: chrono::Duration = chrono::Duration::days(7);
/// How long an access token is accepted; a client refreshes it with its refresh token.
pub const ACCESS_TOKEN_LIFETIME: chrono::Duration = chrono::Duration::minutes(15);
/// How long a session lasts, refreshed or not: a working day and a half.
pub const SESSION_LIFETIME: chrono::Duration = chrono::Duration::hours(12);
/// Failed sign-ins for one email within [`SIGN_IN_FAILURE_WINDOW`] before it is throttled.
pub const MAX_SIGN_IN_FAILURES: u32 = 10;
/// The window over which an email's failed sign-ins are counted.
pub const SIGN_IN_FAILURE_WINDOW: chrono::Duration = chrono::Duration::minutes(15);
/// The most characters of an API key's name.
pub const MAX_KEY_NAME_CHARS: usize = 100;

/// An email address as a sign-in name: trimmed, lower-cased, one `@` with something on each side,
/// no spaces or control characters, at most 254 characters (RFC 5321's path limit).
pub fn normalise_email(text: &str) -> Result<String, String> {
    let email = text.trim().to_lowercase();
    let valid = email.chars().count() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            }
            None => false,
        };
    if valid {
        Ok(email)
    } else {
        Err("is not an email address".to_owned())
    }
}

/// A user as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub email: String,
    pub role: Role,
    /// invited (no password yet) | active | disabled
    pub status: String,
    pub created_at: String,
    pub created_by: String,
    pub disabled_at: Option<String>,
}

fn time(at: DateTime<Utc>) -> String {
    ledger_core::Timestamp::from_datetime(at).to_canonical_string()
}

fn stored_role(text: &str) -> Result<Role, AppError> {
    Role::parse(text).ok_or_else(|| AppError::internal_message(format!("stored role `{text}`")))
}

impl UserView {
    pub fn of(row: &UserRow) -> Result<UserView, AppError> {
        Ok(UserView {
            id: row.id,
            organisation_id: row.organisation_id,
            email: row.email.clone(),
            role: stored_role(&row.role)?,
            status: if row.disabled_at.is_some() {
                "disabled"
            } else if row.password_hash.is_some() {
                "active"
            } else {
                "invited"
            }
            .to_owned(),
            created_at: time(row.created_at),
            created_by: row.created_by.clone(),
            disabled_at: row.disabled_at.map(time),
        })
    }
}

/// An API key as listed (never the key itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    /// The key's visible identifier: its first characters (`slk_` and 8 hex digits).
    pub prefix: String,
    pub name: String,
    pub organisation_id: Uuid,
    pub role: Role,
    /// The user who created it.
    pub created_by: Uuid,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl ApiKeyView {
    pub fn of(row: &ApiKeyRow) -> Result<ApiKeyView, AppError> {
        Ok(ApiKeyView {
            id: row.id,
            prefix: row.prefix.clone(),
            name: row.name.clone(),
            organisation_id: row.organisation_id,
            role: stored_role(&row.role)?,
            created_by: row.created_by,
            created_at: time(row.created_at),
            expires_at: row.expires_at.map(time),
            last_used_at: row.last_used_at.map(time),
            revoked_at: row.revoked_at.map(time),
        })
    }
}

/// Where a public request came from, for the security record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Origin {
    /// The client's address, as the door saw it.
    pub client: Option<String>,
}

/// A security event of `kind` about `subject`, now.
pub(crate) fn event(
    app: &App,
    kind: SecurityEventKind,
    subject: &str,
    user: Option<&UserRow>,
    client: Option<&str>,
    detail: serde_json::Value,
) -> SecurityEventRow {
    SecurityEventRow {
        id: app.sources.id(),
        at: app.sources.now(),
        kind: kind.as_str().to_owned(),
        organisation_id: user.map(|user| user.organisation_id),
        user_id: user.map(|user| user.id),
        subject: subject.chars().take(254).collect(),
        client: client.map(str::to_owned),
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        // Proves sign-in names compare without case or surrounding spaces, and that what is not
        // an address is refused.
        assert_eq!(
            normalise_email("  Tresoriere@CSQ.qc.ca ").unwrap(),
            "tresoriere@csq.qc.ca"
        );
        for bad in [
            "",
            "no-at-sign",
            "@domain",
            "local@",
            "a b@c.d",
            "a@b@c",
            "a\u{7}@b.c",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad:?}");
        }
        assert!(normalise_email(&format!("{}@b.c", "a".repeat(251))).is_err());
    }
}
