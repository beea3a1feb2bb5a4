//! Turning a presented credential into a [`Caller`]: a signed-in user's access token (`sls_…`) or
//! an API key (`slk_…`), each checked against the database on every request, so a revocation or
//! a disabled user is refused at once on every instance. Signed tokens (the `token` command, an
//! identity provider) are checked by the HTTP door's verifier instead.
//!
//! An API key's row is kept in memory once read ([`KeyCache`]), so that a write made with a key
//! costs no read before its transaction: its liveness is checked by the writer inside the write's
//! own transaction ([`ledger_store::KeyGuard`]), in the statement that appends it. What the
//! memory cannot know (a revocation, or a creator disabled, on another instance) is therefore
//! still refused on the next request, on every instance; reads, actions and refused writes read
//! the key directly ([`confirm`]).

use crate::people::event_kinds::SecurityEventKind;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use ledger_core::OrganisationId;
use ledger_store::people::ApiKeyRow;
use serde_json::json;

use super::secrets::{self, ACCESS_PREFIX, KEY_PREFIX};
use super::{event, stored_role};
use crate::App;
use crate::caller::{Caller, Via};
use crate::error::AppError;

/// How often a key's last-used time is written (at most once this long per key).
const LAST_USED_RESOLUTION: Duration = Duration::minutes(1);

/// Whether a bearer credential is one of this service's own (a session or a key), rather than a
/// signed token.
pub fn is_own_credential(bearer: &str) -> bool {
    bearer.starts_with(ACCESS_PREFIX) || bearer.starts_with(KEY_PREFIX)
}

fn unknown() -> AppError {
    AppError::unauthenticated("unauthorized", "the credential is not known")
}

/// The most API keys one instance keeps in memory. Beyond it the memory is emptied and filled
/// again from the database (a read per key), so a flood of distinct keys cannot grow it.
pub const MAX_CACHED_KEYS: usize = 10_000;

/// The API keys this instance has read, by visible prefix: their rows as last read. A row here is
/// never trusted to be live: it spares the read before a write, whose transaction checks the key.
#[derive(Debug, Clone, Default)]
pub struct KeyCache {
    rows: Arc<Mutex<HashMap<String, ApiKeyRow>>>,
}

impl KeyCache {
    fn get(&self, prefix: &str) -> Option<ApiKeyRow> {
        self.rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(prefix)
            .cloned()
    }

    fn keep(&self, row: &ApiKeyRow) {
        let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        if rows.len() >= MAX_CACHED_KEYS && !rows.contains_key(&row.prefix) {
            rows.clear();
        }
        rows.insert(row.prefix.clone(), row.clone());
    }

    /// How many keys are kept (tests).
    pub fn len(&self) -> usize {
        self.rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// When an API key's liveness is read from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// Before the request goes on (every read).
    Now,
    /// By the operation the request runs (a write route): a key this instance knew already is
    /// checked inside the write's transaction, or read before a query or an action runs.
    ByTheOperation,
}

/// The caller a session's access token or an API key speaks for.
pub async fn authenticate(
    app: &App,
    bearer: &str,
    client: Option<&str>,
    check: KeyCheck,
) -> Result<Caller, AppError> {
    if bearer.starts_with(KEY_PREFIX) {
        return authenticate_key(app, bearer, client, check).await;
    }
    let now = app.sources.now();
    let (session, user) = app
        .store
        .session_by_access(secrets::token_hash(bearer))
        .await?
        .ok_or_else(unknown)?;
    let refusal = if user.disabled_at.is_some() {
        Some(("user_disabled", "this user is disabled"))
    } else if session.revoked_at.is_some() {
        Some((
            "session_revoked",
            "this session was signed out or revoked: sign in again",
        ))
    } else if session.expires_at <= now {
        Some(("session_expired", "this session has ended: sign in again"))
    } else if session.access_expires_at <= now {
        Some((
            "access_token_expired",
            "this access token has expired: refresh it with the refresh token",
        ))
    } else {
        None
    };
    if let Some((code, detail)) = refusal {
        if code != "access_token_expired" {
            app.store
                .record_security_event(&event(
                    app,
                    SecurityEventKind::CredentialRefused,
                    &user.email,
                    Some(&user),
                    client,
                    json!({"reason": code, "session_id": session.id}),
                ))
                .await?;
        }
        return Err(AppError::unauthenticated(code, detail));
    }
    Ok(Caller {
        subject: user.email.clone(),
        organisation: OrganisationId::from_uuid(user.organisation_id),
        role: stored_role(&user.role)?,
        via: Via::Session {
            user_id: user.id,
            session_id: session.id,
        },
    })
}

async fn authenticate_key(
    app: &App,
    key: &str,
    client: Option<&str>,
    check: KeyCheck,
) -> Result<Caller, AppError> {
    let prefix = secrets::api_key_prefix(key).ok_or_else(unknown)?;
    let presented = secrets::token_hash(key);
    let now = app.sources.now();
    let known = match check {
        KeyCheck::ByTheOperation => app
            .keys
            .get(prefix)
            .filter(|row| secrets::same_hash(&row.secret_hash, &presented)),
        KeyCheck::Now => None,
    };
    let read_now = known.is_none();
    let row = match known {
        Some(row) => row,
        None => {
            let row = app
                .store
                .api_key_by_prefix(prefix)
                .await?
                .ok_or_else(unknown)?;
            if !secrets::same_hash(&row.secret_hash, &presented) {
                return Err(unknown());
            }
            app.keys.keep(&row);
            row
        }
    };
    // A revocation and an expiry are final: a remembered one is refused without a read.
    if let Some((code, detail)) = refusal(&row, now) {
        return Err(refuse(app, &row, client, code, detail).await);
    }
    if row
        .last_used_at
        .is_none_or(|used| now - used >= LAST_USED_RESOLUTION)
    {
        app.store.touch_api_key(row.id, now).await?;
        app.keys.keep(&ApiKeyRow {
            last_used_at: Some(now),
            ..row.clone()
        });
    }
    Ok(Caller {
        subject: row.prefix.clone(),
        organisation: OrganisationId::from_uuid(row.organisation_id),
        role: stored_role(&row.role)?,
        via: Via::ApiKey {
            key_id: row.id,
            created_by: row.created_by,
            read_now,
        },
    })
}

/// Why a key may not act at `now`, if it may not.
fn refusal(row: &ApiKeyRow, now: DateTime<Utc>) -> Option<(&'static str, &'static str)> {
    if row.revoked_at.is_some() {
        Some(("api_key_revoked", "this API key was revoked"))
    } else if row.expires_at.is_some_and(|expires_at| expires_at <= now) {
        Some(("api_key_expired", "this API key has expired"))
    } else {
        None
    }
}

/// Records the refusal of a key on the security record and returns it.
async fn refuse(
    app: &App,
    row: &ApiKeyRow,
    client: Option<&str>,
    code: &'static str,
    detail: &'static str,
) -> AppError {
    let mut recorded = event(
        app,
        SecurityEventKind::CredentialRefused,
        &row.prefix,
        None,
        client,
        json!({"reason": code, "key_id": row.id}),
    );
    recorded.organisation_id = Some(row.organisation_id);
    recorded.user_id = Some(row.created_by);
    match app.store.record_security_event(&recorded).await {
        Ok(()) => AppError::unauthenticated(code, detail),
        Err(error) => error.into(),
    }
}

/// Reads the key of a caller authenticated from memory ([`KeyCheck::ByTheOperation`]) and refuses
/// it if it is no longer live (revoked on any instance, expired, its creator disabled: disabling a
/// user revokes its keys). Every other caller passes at once.
pub async fn confirm(app: &App, caller: &Caller) -> Result<(), AppError> {
    let Via::ApiKey {
        key_id,
        read_now: false,
        ..
    } = caller.via
    else {
        return Ok(());
    };
    let row = app.store.api_key(key_id).await?.ok_or_else(unknown)?;
    app.keys.keep(&row);
    match refusal(&row, app.sources.now()) {
        Some((code, detail)) => Err(refuse(app, &row, None, code, detail).await),
        None => Ok(()),
    }
}
