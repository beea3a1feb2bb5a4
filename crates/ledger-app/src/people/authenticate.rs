//! Turning a presented credential into a [`Caller`]: a signed-in user's access token (`sls_…`) or
//! an API key (`slk_…`), each checked against the database on every request, so a revocation or
//! a disabled user is refused at once on every instance. Signed tokens (the `token` command, an
//! identity provider) are checked by the HTTP door's verifier instead.

use chrono::Duration;
use ledger_core::OrganisationId;
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

/// The caller a session's access token or an API key speaks for.
pub async fn authenticate(
    app: &App,
    bearer: &str,
    client: Option<&str>,
) -> Result<Caller, AppError> {
    if bearer.starts_with(KEY_PREFIX) {
        return authenticate_key(app, bearer, client).await;
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
                    "credential_refused",
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

async fn authenticate_key(app: &App, key: &str, client: Option<&str>) -> Result<Caller, AppError> {
    let prefix = secrets::api_key_prefix(key).ok_or_else(unknown)?;
    let row = app
        .store
        .api_key_by_prefix(prefix)
        .await?
        .ok_or_else(unknown)?;
    if !secrets::same_hash(&row.secret_hash, &secrets::token_hash(key)) {
        return Err(unknown());
    }
    let now = app.sources.now();
    let refusal = if row.revoked_at.is_some() {
        Some(("api_key_revoked", "this API key was revoked"))
    } else if row.expires_at.is_some_and(|expires_at| expires_at <= now) {
        Some(("api_key_expired", "this API key has expired"))
    } else {
        None
    };
    if let Some((code, detail)) = refusal {
        let mut recorded = event(
            app,
            "credential_refused",
            &row.prefix,
            None,
            client,
            json!({"reason": code, "key_id": row.id}),
        );
        recorded.organisation_id = Some(row.organisation_id);
        recorded.user_id = Some(row.created_by);
        app.store.record_security_event(&recorded).await?;
        return Err(AppError::unauthenticated(code, detail));
    }
    if row
        .last_used_at
        .is_none_or(|used| now - used >= LAST_USED_RESOLUTION)
    {
        app.store.touch_api_key(row.id, now).await?;
    }
    Ok(Caller {
        subject: row.prefix.clone(),
        organisation: OrganisationId::from_uuid(row.organisation_id),
        role: stored_role(&row.role)?,
        via: Via::ApiKey {
            key_id: row.id,
            created_by: row.created_by,
        },
    })
}
