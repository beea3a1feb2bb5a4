//! People and keys over HTTP: users invited and disabled, invitations accepted, sessions opened,
//! refreshed and closed, API keys created, listed and revoked, and the security record read. Every
//! rule is in `ledger_app::people`; these handlers translate.
//!
//! These endpoints take no `Idempotency-Key`: their answers carry secrets (an invitation, tokens,
//! a key) that must never be stored for a replay, and the others (disable, revoke, sign out,
//! change a password) have the same effect however often they run.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ledger_app::pagination::{OrderedPageQuery, Page, PageQuery};
use ledger_app::people::events::{ListSecurityEvents, SecurityEventQuery, SecurityEventView};
use ledger_app::people::keys::{
    ApiKeyCreatedView, CreateApiKey, CreateApiKeyBody, ListApiKeys, RevokeApiKey,
};
use ledger_app::people::sessions::{
    ListSessions, RefreshBody, RevokeSession, SessionInfo, SessionView, SignInBody, SignOut,
};
use ledger_app::people::users::{
    AcceptInvitationBody, ChangePassword, ChangePasswordBody, DisableUser, InvitationView,
    InviteUser, InviteUserBody, ListUsers,
};
use ledger_app::people::{ApiKeyView, Origin, UserView, sessions, users};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{ClientAddress, Principal};
use crate::json::AppJson;
use crate::problem::{ApiError, Problem};
use crate::query::Query;

/// The writes that take no `Idempotency-Key`: this module's (see its documentation) and the
/// decisions on proposals (`crate::proposals`).
#[cfg(test)]
pub(crate) const WITHOUT_IDEMPOTENCY_KEY: &[&str] = &[
    "/v1/users",
    "/v1/users/{id}/disable",
    "/v1/users/me/password",
    "/v1/invitations/acceptance",
    "/v1/sessions",
    "/v1/sessions/refresh",
    "/v1/api-keys",
    "/v1/api-keys/{id}/revocation",
    "/v1/sessions/{id}/revocation",
    "/v1/proposals/{id}/approval",
    "/v1/proposals/{id}/rejection",
];

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invite_user, list_users))
        .routes(routes!(disable_user))
        .routes(routes!(change_password))
        .routes(routes!(accept_invitation))
        .routes(routes!(sign_in))
        .routes(routes!(refresh_session))
        .routes(routes!(sign_out))
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
        .routes(routes!(list_security_events))
}

/// Invite a user (admin): the answer carries the single-use invitation token, shown once.
#[utoipa::path(
    post, path = "/v1/users", tag = "people", request_body = InviteUserBody,
    responses((status = 403, description = "the role may not do this, or a minted token has no user", body = Problem, content_type = "application/problem+json"), (status = 201, body = InvitationView), (status = 409, description = "email_taken", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn invite_user(
    State(state): State<AppState>,
    principal: Principal,
    AppJson(body): AppJson<InviteUserBody>,
) -> Result<Response, ApiError> {
    let invitation = state.app.perform(&principal, InviteUser(body)).await?;
    Ok((StatusCode::CREATED, AppJson(invitation)).into_response())
}

/// Users: admins and auditors all, others their organisation's.
#[utoipa::path(
    get, path = "/v1/users", tag = "people", params(PageQuery),
    responses((status = 403, description = "the role may not do this, or a minted token has no user", body = Problem, content_type = "application/problem+json"), (status = 200, body = Page<UserView>)),
    security(("bearer" = []))
)]
async fn list_users(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<PageQuery>,
) -> Result<AppJson<Page<UserView>>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ListUsers(query)).await?,
    ))
}

/// Disable a user (admin): its sessions and keys are refused from the next request, on every
/// instance.
#[utoipa::path(
    post, path = "/v1/users/{id}/disable", tag = "people", params(("id" = Uuid, Path)),
    responses((status = 403, description = "the role may not do this, or a minted token has no user", body = Problem, content_type = "application/problem+json"), (status = 200, body = UserView)),
    security(("bearer" = []))
)]
async fn disable_user(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<UserView>, ApiError> {
    Ok(AppJson(
        state.app.perform(&principal, DisableUser(id)).await?,
    ))
}

/// Change one's own password (a signed-in user): every session of the user is revoked.
#[utoipa::path(
    post, path = "/v1/users/me/password", tag = "people", request_body = ChangePasswordBody,
    responses((status = 403, description = "the role may not do this, or a minted token has no user", body = Problem, content_type = "application/problem+json"), (status = 204, description = "changed; sign in again")),
    security(("bearer" = []))
)]
async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    AppJson(body): AppJson<ChangePasswordBody>,
) -> Result<StatusCode, ApiError> {
    state.app.perform(&principal, ChangePassword(body)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a password with an invitation (public: the invitation token is the proof).
#[utoipa::path(
    post, path = "/v1/invitations/acceptance", tag = "people", request_body = AcceptInvitationBody,
    responses(
        (status = 200, body = UserView),
        (status = 404, description = "no such invitation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invitation_used or invitation_expired", body = Problem, content_type = "application/problem+json"))
)]
async fn accept_invitation(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    AppJson(body): AppJson<AcceptInvitationBody>,
) -> Result<AppJson<UserView>, ApiError> {
    let origin = Origin {
        client: client.map(|address| address.to_string()),
    };
    Ok(AppJson(
        users::accept_invitation(&state.app, body, &origin).await?,
    ))
}

/// Sign in with an email and a password (public). The same refusal, in the same time, whether the
/// email exists or not; repeated failures are throttled (429 with `Retry-After`), per email on
/// every instance and per client address.
#[utoipa::path(
    post, path = "/v1/sessions", tag = "people", request_body = SignInBody,
    responses(
        (status = 201, body = SessionView),
        (status = 401, description = "invalid_credentials", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "sign_in_throttled", body = Problem, content_type = "application/problem+json"))
)]
async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    AppJson(body): AppJson<SignInBody>,
) -> Result<Response, ApiError> {
    let now = std::time::Instant::now();
    if let Some(client) = client {
        state.throttle.check(client, now)?;
    }
    let origin = Origin {
        client: client.map(|address| address.to_string()),
    };
    match sessions::sign_in(&state.app, body, &origin).await {
        Ok(session) => Ok((StatusCode::CREATED, AppJson(session)).into_response()),
        Err(error) => {
            if let Some(client) = client
                && error.refusal == ledger_app::Refusal::Unauthenticated
            {
                state.throttle.record_failure(client, now);
            }
            Err(error.into())
        }
    }
}

/// Exchange a refresh token for new tokens (public: the refresh token is the proof; it is
/// rotated, the old one refused from now on).
#[utoipa::path(
    post, path = "/v1/sessions/refresh", tag = "people", request_body = RefreshBody,
    responses(
        (status = 200, body = SessionView),
        (status = 401, description = "refresh_refused", body = Problem, content_type = "application/problem+json"))
)]
async fn refresh_session(
    State(state): State<AppState>,
    AppJson(body): AppJson<RefreshBody>,
) -> Result<AppJson<SessionView>, ApiError> {
    Ok(AppJson(sessions::refresh(&state.app, body).await?))
}

/// Sign out: the session's tokens are refused from now on.
#[utoipa::path(
    delete, path = "/v1/sessions/current", tag = "people",
    responses((status = 400, description = "not_a_session: the credential is a key or a minted token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "the role may not do this, or a minted token has no user", body = Problem, content_type = "application/problem+json"), (status = 204, description = "signed out")),
    security(("bearer" = []))
)]
async fn sign_out(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    state.app.perform(&principal, SignOut).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's sessions, newest first (the user itself, an admin or an auditor; never their tokens).
#[utoipa::path(
    get, path = "/v1/users/{id}/sessions", tag = "people", params(("id" = Uuid, Path)),
    responses((status = 403, description = "the role may not do this", body = Problem, content_type = "application/problem+json"), (status = 200, body = Vec<SessionInfo>)),
    security(("bearer" = []))
)]
async fn list_sessions(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<Vec<SessionInfo>>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ListSessions(id)).await?,
    ))
}

/// Revoke one session (its own user, or an admin): its tokens are refused from the next request,
/// on every instance.
#[utoipa::path(
    post, path = "/v1/sessions/{id}/revocation", tag = "people", params(("id" = Uuid, Path)),
    responses((status = 403, description = "the role may not do this", body = Problem, content_type = "application/problem+json"), (status = 200, body = SessionInfo)),
    security(("bearer" = []))
)]
async fn revoke_session(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<SessionInfo>, ApiError> {
    Ok(AppJson(
        state.app.perform(&principal, RevokeSession(id)).await?,
    ))
}

/// Create an API key for one's organisation (a signed-in user): the key is shown once.
#[utoipa::path(
    post, path = "/v1/api-keys", tag = "people", request_body = CreateApiKeyBody,
    responses((status = 403, description = "the role may not do this, or a minted token has no user", body = Problem, content_type = "application/problem+json"), (status = 201, body = ApiKeyCreatedView)),
    security(("bearer" = []))
)]
async fn create_api_key(
    State(state): State<AppState>,
    principal: Principal,
    AppJson(body): AppJson<CreateApiKeyBody>,
) -> Result<Response, ApiError> {
    let created = state.app.perform(&principal, CreateApiKey(body)).await?;
    Ok((StatusCode::CREATED, AppJson(created)).into_response())
}

/// API keys: admins and auditors all, others their organisation's (never the keys themselves).
#[utoipa::path(
    get, path = "/v1/api-keys", tag = "people", params(OrderedPageQuery),
    responses((status = 403, description = "the role may not do this, or a minted token has no user", body = Problem, content_type = "application/problem+json"), (status = 200, body = Page<ApiKeyView>)),
    security(("bearer" = []))
)]
async fn list_api_keys(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<OrderedPageQuery>,
) -> Result<AppJson<Page<ApiKeyView>>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ListApiKeys(query)).await?,
    ))
}

/// Revoke an API key: refused from its next use, on every instance.
#[utoipa::path(
    post, path = "/v1/api-keys/{id}/revocation", tag = "people", params(("id" = Uuid, Path)),
    responses((status = 403, description = "the role may not do this, or a minted token has no user", body = Problem, content_type = "application/problem+json"), (status = 200, body = ApiKeyView)),
    security(("bearer" = []))
)]
async fn revoke_api_key(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<ApiKeyView>, ApiError> {
    Ok(AppJson(
        state.app.perform(&principal, RevokeApiKey(id)).await?,
    ))
}

/// The security record: sign-ins and failures, throttling, invitations, passwords, keys,
/// disabled users (admins and auditors; never a secret).
#[utoipa::path(
    get, path = "/v1/security-events", tag = "people", params(SecurityEventQuery),
    responses((status = 403, description = "the role may not do this, or a minted token has no user", body = Problem, content_type = "application/problem+json"), (status = 200, body = Page<SecurityEventView>)),
    security(("bearer" = []))
)]
async fn list_security_events(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<SecurityEventQuery>,
) -> Result<AppJson<Page<SecurityEventView>>, ApiError> {
    Ok(AppJson(
        state
            .app
            .query(&principal, ListSecurityEvents(query))
            .await?,
    ))
}
