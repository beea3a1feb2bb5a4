//! Signing in and out: an email and a password give a session, with a short-lived access token
//! and a refresh token; signing out, a password change or disabling the user revokes it.

use crate::people::event_kinds::SecurityEventKind;
use chrono::{DateTime, Utc};
use ledger_store::people::{NewSession, Refresh, UserRow};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::secrets::{self, ACCESS_PREFIX, REFRESH_PREFIX};
use super::{
    ACCESS_TOKEN_LIFETIME, MAX_SIGN_IN_FAILURES, Origin, SESSION_LIFETIME, SIGN_IN_FAILURE_WINDOW,
    UserView, event, normalise_email, time,
};
use crate::App;
use crate::caller::{Caller, Via};
use crate::error::AppError;
use crate::policy::Operation;
use crate::runner::Action;

/// A sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    pub email: String,
    pub password: String,
}

/// A session's tokens, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub session_id: Uuid,
    /// Send as `Authorization: Bearer <access_token>`; accepted until `access_expires_at`.
    pub access_token: String,
    pub access_expires_at: String,
    /// Exchanged at `POST /v1/sessions/refresh` for new tokens, until `expires_at`.
    pub refresh_token: String,
    pub expires_at: String,
    pub user: UserView,
}

fn invalid_credentials() -> AppError {
    AppError::unauthenticated("invalid_credentials", "the email or the password is wrong")
}

/// How long `email` must still wait, if its recent failures reached the limit.
async fn throttled_for(
    app: &App,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Option<u64>, AppError> {
    let failures = app
        .store
        .recent_sign_in_failures(email, MAX_SIGN_IN_FAILURES)
        .await?;
    if failures.len() < MAX_SIGN_IN_FAILURES as usize {
        return Ok(None);
    }
    let oldest = failures.iter().min().copied().unwrap_or(now);
    let free_at = oldest + SIGN_IN_FAILURE_WINDOW;
    Ok((free_at > now).then(|| (free_at - now).num_seconds().max(1).unsigned_abs()))
}

/// Sign in (public): the same refusal, in the same time, whether the email exists or not; ten
/// failures for one email within 15 minutes throttle it, on every instance.
pub async fn sign_in(
    app: &App,
    body: SignInBody,
    origin: &Origin,
) -> Result<SessionView, AppError> {
    let client = origin.client.as_deref();
    let email = normalise_email(&body.email)
        .map_err(|message| AppError::invalid_field("email", message))?;
    let now = app.sources.now();
    if let Some(seconds) = throttled_for(app, &email, now).await? {
        app.store
            .record_security_event(&event(
                app,
                SecurityEventKind::SignInThrottled,
                &email,
                None,
                client,
                json!({}),
            ))
            .await?;
        return Err(AppError::throttled(
            "sign_in_throttled",
            format!("too many failed sign-ins for this email; try again in {seconds} s"),
            seconds,
        ));
    }
    let user = app.store.user_by_email(&email).await?;
    let hash = user.as_ref().and_then(|user| user.password_hash.as_deref());
    let matches = secrets::verify_password(&body.password, hash);
    let user = match user {
        Some(user) if matches && user.disabled_at.is_none() => user,
        other => {
            let reason = match &other {
                None => "unknown_email",
                Some(user) if user.disabled_at.is_some() => "user_disabled",
                Some(user) if user.password_hash.is_none() => "invitation_not_accepted",
                Some(_) => "wrong_password",
            };
            app.store
                .record_security_event(&event(
                    app,
                    SecurityEventKind::SignInFailed,
                    &email,
                    other.as_ref(),
                    client,
                    json!({"reason": reason}),
                ))
                .await?;
            return Err(invalid_credentials());
        }
    };
    open_session(app, &user, client, now).await
}

async fn open_session(
    app: &App,
    user: &UserRow,
    client: Option<&str>,
    now: DateTime<Utc>,
) -> Result<SessionView, AppError> {
    let (access_token, access_hash) = secrets::new_token(ACCESS_PREFIX);
    let (refresh_token, refresh_hash) = secrets::new_token(REFRESH_PREFIX);
    let session = NewSession {
        id: app.sources.id(),
        user_id: user.id,
        access_hash,
        access_expires_at: now + ACCESS_TOKEN_LIFETIME,
        refresh_hash,
        expires_at: now + SESSION_LIFETIME,
        created_at: now,
    };
    let recorded = event(
        app,
        SecurityEventKind::SignIn,
        &user.email,
        Some(user),
        client,
        json!({"session_id": session.id}),
    );
    app.store.create_session(&session, &recorded).await?;
    Ok(SessionView {
        session_id: session.id,
        access_token,
        access_expires_at: time(session.access_expires_at),
        refresh_token,
        expires_at: time(session.expires_at),
        user: UserView::of(user)?,
    })
}

/// A refresh.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    pub refresh_token: String,
}

/// Exchange a refresh token for new tokens (public; the refresh token is the proof, and is
/// rotated: the old one is refused from now on).
pub async fn refresh(app: &App, body: RefreshBody) -> Result<SessionView, AppError> {
    let now = app.sources.now();
    let (access_token, access_hash) = secrets::new_token(ACCESS_PREFIX);
    let (refresh_token, new_refresh_hash) = secrets::new_token(REFRESH_PREFIX);
    match app
        .store
        .refresh_session(
            secrets::token_hash(body.refresh_token.trim()),
            access_hash,
            now + ACCESS_TOKEN_LIFETIME,
            new_refresh_hash,
            now,
        )
        .await?
    {
        Refresh::Rotated(rotated) => {
            let (session, user) = *rotated;
            Ok(SessionView {
                session_id: session.id,
                access_token,
                access_expires_at: time(session.access_expires_at),
                refresh_token,
                expires_at: time(session.expires_at),
                user: UserView::of(&user)?,
            })
        }
        Refresh::Refused => Err(AppError::unauthenticated(
            "refresh_refused",
            "this refresh token is not valid (unknown, already used, revoked or expired): sign in again",
        )),
    }
}

/// Sign out: the caller's session is revoked; its tokens are refused from now on.
#[derive(Debug)]
pub struct SignOut;

impl Action for SignOut {
    const OPERATION: Operation = Operation::SignOut;
    type Output = ();

    async fn perform(self, app: &App, caller: &Caller) -> Result<(), AppError> {
        let Via::Session {
            user_id,
            session_id,
        } = caller.via
        else {
            return Err(AppError::bad_request(
                "not_a_session",
                "only a signed-in session can sign out (revoke an API key instead)",
            ));
        };
        let user = app.store.user(user_id).await?;
        let recorded = event(
            app,
            SecurityEventKind::SignOut,
            &caller.subject,
            user.as_ref(),
            None,
            json!({"session_id": session_id}),
        );
        app.store
            .revoke_session(session_id, app.sources.now(), &recorded)
            .await?;
        Ok(())
    }
}

/// A session as listed (never its tokens).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: String,
    pub access_expires_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

impl SessionInfo {
    fn of(row: &ledger_store::people::SessionRow) -> SessionInfo {
        SessionInfo {
            id: row.id,
            user_id: row.user_id,
            created_at: time(row.created_at),
            access_expires_at: time(row.access_expires_at),
            expires_at: time(row.expires_at),
            revoked_at: row.revoked_at.map(time),
        }
    }
}

/// The most sessions one list answers (the newest).
pub const MAX_LISTED_SESSIONS: u32 = 100;

/// A user's sessions, newest first: the user itself, an admin, or an auditor (read only).
#[derive(Debug)]
pub struct ListSessions(pub String);

impl crate::runner::Query for ListSessions {
    const OPERATION: Operation = Operation::ListSessions;
    type Output = Vec<SessionInfo>;

    async fn read(self, app: &App, caller: &Caller) -> Result<Vec<SessionInfo>, AppError> {
        let user = own_or_network_user(app, caller, &self.0).await?;
        let rows = app.store.sessions_of(user.id, MAX_LISTED_SESSIONS).await?;
        Ok(rows.iter().map(SessionInfo::of).collect())
    }
}

/// The user `id` if the caller may manage its sessions: itself, or the network's admins (and
/// auditors, to read); another user is not disclosed (404).
async fn own_or_network_user(app: &App, caller: &Caller, id: &str) -> Result<UserRow, AppError> {
    let not_found = || AppError::not_found("no such user");
    let id = crate::fields::parse_id(id).ok_or_else(not_found)?;
    let user = app.store.user(id).await?.ok_or_else(not_found)?;
    if caller.sees_everything() || caller.user_id() == Some(user.id) {
        Ok(user)
    } else {
        Err(not_found())
    }
}

/// Revoke one session: its user's own, or any by the network's admins. Its tokens are refused
/// from the next request, on every instance; revoking a revoked session answers it as it is.
#[derive(Debug)]
pub struct RevokeSession(pub String);

impl Action for RevokeSession {
    const OPERATION: Operation = Operation::RevokeSession;
    type Output = SessionInfo;

    async fn perform(self, app: &App, caller: &Caller) -> Result<SessionInfo, AppError> {
        let not_found = || AppError::not_found("no such session");
        let id = crate::fields::parse_id(&self.0).ok_or_else(not_found)?;
        let session = app.store.session(id).await?.ok_or_else(not_found)?;
        let user = app
            .store
            .user(session.user_id)
            .await?
            .ok_or_else(not_found)?;
        let allowed =
            caller.role == crate::caller::Role::Admin || caller.user_id() == Some(user.id);
        if !allowed {
            return Err(not_found());
        }
        let recorded = event(
            app,
            SecurityEventKind::SessionRevoked,
            &caller.subject,
            Some(&user),
            None,
            json!({"session_id": session.id, "email": user.email}),
        );
        app.store
            .revoke_session(session.id, app.sources.now(), &recorded)
            .await?;
        let session = app.store.session(id).await?.ok_or_else(not_found)?;
        Ok(SessionInfo::of(&session))
    }
}
