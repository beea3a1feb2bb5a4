//! Authentication and roles: Bearer JWTs carrying `sub`, `org`, `role`, `iat` and `exp`.
//!
//! Tokens are HS256 with the service's secret by default; a public key (EdDSA or RS256, PEM) may be
//! configured instead so an external identity provider can issue them. Only the configured
//! algorithm is accepted (`alg: none` never is). Tokens are never logged.
//!
//! A token's role must fit what its organisation is ([`Role::fits`]); a token naming an
//! organisation that is not registered is refused (401). Failed authentications are counted per
//! client address and throttled ([`AuthenticationThrottle`]); a write's role is checked before its
//! body is read ([`authorise_before_body`]).

// Long file: the table of write routes (one row per write the API offers) grows with the API; it
// stays beside the check that reads it and the contract test that holds it to the router.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ledger_core::OrganisationId;
use serde::{Deserialize, Serialize};

use ledger_app::Operation;
use ledger_app::people::authenticate::KeyCheck;

use crate::AppState;
use crate::problem::ApiError;

pub use ledger_app::{Caller as Principal, Role};

/// The claims of a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// Organisation id (UUID).
    pub org: String,
    pub role: Role,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// How tokens are checked.
#[derive(Clone)]
pub struct TokenVerifier {
    key: Arc<DecodingKey>,
    validation: Validation,
    max_lifetime: Duration,
}

/// The longest lifetime (`exp − iat`) a token may have by default: a leaked token is then worth a
/// day at most. The `token` command mints one hour by default.
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Clock difference tolerated between the token's issuer and this service, in seconds (for
/// `exp`, `nbf` and `iat`).
pub const CLOCK_LEEWAY_SECONDS: u64 = 30;

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret: never printed.
        formatter
            .debug_struct("TokenVerifier")
            .field("algorithms", &self.validation.algorithms)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

/// Why a verifier could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthConfigError {
    #[error("the JWT secret must have at least {MINIMUM_SECRET_BYTES} bytes")]
    SecretTooShort,
    #[error("unsupported public-key algorithm `{0}` (use EdDSA or RS256)")]
    UnsupportedAlgorithm(String),
    #[error("the public key is not a valid PEM key for {algorithm}")]
    InvalidKey {
        algorithm: String,
        #[source]
        source: jsonwebtoken::errors::Error,
    },
}

/// A shorter HS256 secret can be brute-forced offline from any token.
pub const MINIMUM_SECRET_BYTES: usize = 32;

impl TokenVerifier {
    /// HS256 with a shared secret.
    pub fn hs256(
        secret: &[u8],
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Result<TokenVerifier, AuthConfigError> {
        if secret.len() < MINIMUM_SECRET_BYTES {
            return Err(AuthConfigError::SecretTooShort);
        }
        Ok(TokenVerifier::with(
            DecodingKey::from_secret(secret),
            Algorithm::HS256,
            issuer,
            audience,
        ))
    }

    /// A public key (PEM) of an external issuer: `EdDSA` or `RS256`.
    pub fn public_key(
        algorithm: &str,
        pem: &[u8],
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Result<TokenVerifier, AuthConfigError> {
        let (key, algorithm_value) = match algorithm {
            "EdDSA" => (DecodingKey::from_ed_pem(pem), Algorithm::EdDSA),
            "RS256" => (DecodingKey::from_rsa_pem(pem), Algorithm::RS256),
            other => return Err(AuthConfigError::UnsupportedAlgorithm(other.to_owned())),
        };
        let key = key.map_err(|source| AuthConfigError::InvalidKey {
            algorithm: algorithm.to_owned(),
            source,
        })?;
        Ok(TokenVerifier::with(key, algorithm_value, issuer, audience))
    }

    fn with(
        key: DecodingKey,
        algorithm: Algorithm,
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> TokenVerifier {
        let mut validation = Validation::new(algorithm);
        validation.leeway = CLOCK_LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.validate_aud = audience.is_some();
        // A configured issuer or audience is required, not only checked when present.
        let mut required = vec!["exp"];
        if let Some(issuer) = issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        if let Some(audience) = audience {
            validation.set_audience(&[audience]);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        TokenVerifier {
            key: Arc::new(key),
            validation,
            max_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
        }
    }

    /// Refuses tokens whose `exp − iat` exceeds `max_lifetime` (and tokens without `iat`).
    pub fn with_max_lifetime(mut self, max_lifetime: Duration) -> TokenVerifier {
        self.max_lifetime = max_lifetime;
        self
    }

    /// The longest lifetime accepted.
    pub fn max_lifetime(&self) -> Duration {
        self.max_lifetime
    }

    /// Checks a token and returns who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(
            |error| {
                use jsonwebtoken::errors::ErrorKind;
                let reason = match error.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::ImmatureSignature => "the token is not valid yet (`nbf`)",
                    ErrorKind::InvalidSignature => "the token's signature is not valid",
                    ErrorKind::InvalidAlgorithm => "the token's algorithm is not accepted",
                    ErrorKind::InvalidIssuer => "the token's issuer is not accepted",
                    ErrorKind::InvalidAudience => "the token's audience is not accepted",
                    ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
                    _ => "the token is malformed",
                };
                ApiError::unauthorized(reason)
            },
        )?;
        let claims = data.claims;
        self.check_lifetime(&claims, unix_now_seconds())?;
        let organisation = claims.org.parse::<OrganisationId>().map_err(|_| {
            ApiError::unauthorized("the token's `org` claim is not an organisation id")
        })?;
        if claims.sub.is_empty()
            || claims.sub.chars().count() > ledger_core::journal::MAX_SUBJECT_LENGTH
        {
            return Err(ApiError::unauthorized(
                "the token's `sub` claim is empty or too long",
            ));
        }
        Ok(Principal::with_token(claims.sub, organisation, claims.role))
    }
}

impl TokenVerifier {
    /// A token must say when it was issued, not claim to be issued in the future, and not live
    /// longer than the maximum lifetime: otherwise a leaked token (or one minted with
    /// `exp` = 2^64−1) would be valid for ever.
    fn check_lifetime(&self, claims: &Claims, now_seconds: u64) -> Result<(), ApiError> {
        let issued_at = claims
            .iat
            .ok_or_else(|| ApiError::unauthorized("the token lacks its `iat` claim"))?;
        if issued_at > now_seconds.saturating_add(CLOCK_LEEWAY_SECONDS) {
            return Err(ApiError::unauthorized(
                "the token's `iat` claim is in the future",
            ));
        }
        let lifetime_seconds = claims.exp.saturating_sub(issued_at);
        if lifetime_seconds > self.max_lifetime.as_secs() {
            return Err(ApiError::unauthorized(format!(
                "the token lives {lifetime_seconds} s, longer than the {} s accepted",
                self.max_lifetime.as_secs()
            )));
        }
        Ok(())
    }
}

fn unix_now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

/// Signs an HS256 token (the `token` command, tests).
pub fn mint_hs256(secret: &[u8], claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Already authenticated before the body was read (see `authorise_before_body`).
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        principal_of(parts, state, KeyCheck::Now).await
    }
}

/// The request's principal, its failures throttled per client address and its organisation and
/// role recorded on the request's span.
async fn principal_of(
    parts: &Parts,
    state: &AppState,
    check: KeyCheck,
) -> Result<Principal, ApiError> {
    let client = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    if let Some(client) = client {
        state.throttle.check(client, Instant::now())?;
    }
    let principal = match authenticate(parts, state, check).await {
        Ok(principal) => principal,
        Err(error) => {
            if let Some(client) = client
                && error.status() == axum::http::StatusCode::UNAUTHORIZED
            {
                state.throttle.record_failure(client, Instant::now());
            }
            return Err(error);
        }
    };
    let span = tracing::Span::current();
    span.record(
        "organisation",
        tracing::field::display(principal.organisation),
    );
    span.record("role", principal.role.as_str());
    Ok(principal)
}

/// The client's address, when the server loop knows it (always, except in-process requests).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip()),
        ))
    }
}

/// Reads and checks the bearer token, then binds its claims to the registry: the organisation
/// must exist (401 otherwise) and be of a kind that may hold the role (403 otherwise).
/// An API key is read from the database now, or (`KeyCheck::ByTheOperation`, a write route) by the
/// operation the request runs.
async fn authenticate(
    parts: &Parts,
    state: &AppState,
    check: KeyCheck,
) -> Result<Principal, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("an Authorization: Bearer token is required"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|text| text.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
        })?;
    if ledger_app::people::authenticate::is_own_credential(token) {
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip().to_string());
        return Ok(ledger_app::people::authenticate::authenticate(
            &state.app,
            token,
            client.as_deref(),
            check,
        )
        .await?);
    }
    let principal = state.tokens.verify(token)?;
    let organisation = state
        .app
        .store
        .organisation(principal.organisation)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the token's organisation is not registered"))?;
    if !principal.role.fits(organisation.kind) {
        return Err(ApiError::forbidden(format!(
            "the {} role cannot be held by an organisation of kind {}",
            principal.role.as_str(),
            organisation.kind.as_str()
        )));
    }
    Ok(principal)
}

pub use crate::throttle::{
    AuthenticationThrottle, DEFAULT_MAX_FAILED_AUTHENTICATIONS, FAILED_AUTHENTICATION_WINDOW,
};

/// The operation behind each write route (method and route template), whose roles (in
/// [`ledger_app::policy::POLICY`]) [`authorise_before_body`] checks before the request body is
/// read. The command checks the same policy again when it runs; a write route missing here is only
/// authenticated first (a test keeps every documented write listed).
pub const WRITE_ROUTES: &[(&str, &str, Operation)] = &[
    ("POST", "/v1/organisations", Operation::RegisterOrganisation),
    (
        "POST",
        "/v1/organisations/{id}/versions",
        Operation::ChangeOrganisation,
    ),
    (
        "POST",
        "/v1/organisations/{id}/bank-accounts",
        Operation::SetBankAccount,
    ),
    ("POST", "/v1/programmes", Operation::CreateProgramme),
    (
        "POST",
        "/v1/organisations/{id}/publication",
        Operation::ChoosePublication,
    ),
    (
        "POST",
        "/v1/programmes/{id}/versions",
        Operation::ChangeProgramme,
    ),
    ("POST", "/v1/contribution-batches", Operation::SubmitBatch),
    (
        "POST",
        "/v1/bank-statements",
        Operation::ImportBankStatement,
    ),
    (
        "POST",
        "/v1/bank-statement-entries/{id}/assignment",
        Operation::AssignStatementEntry,
    ),
    (
        "POST",
        "/v1/bank-statement-entries/{id}/not-ours",
        Operation::DismissStatementEntry,
    ),
    (
        "POST",
        "/v1/contribution-batches/{id}/receipts",
        Operation::RecordReceipt,
    ),
    (
        "POST",
        "/v1/contribution-batches/{id}/reversal",
        Operation::ReverseBatch,
    ),
    (
        "POST",
        "/v1/organisations/{id}/facts",
        Operation::RecordFact,
    ),
    (
        "POST",
        "/v1/organisations/{id}/facts/{fact_id}/verification",
        Operation::VerifyFact,
    ),
    (
        "POST",
        "/v1/organisations/{id}/facts/{fact_id}/rejection",
        Operation::RejectFact,
    ),
    (
        "POST",
        "/v1/redistribution-reports",
        Operation::SubmitReport,
    ),
    (
        "POST",
        "/v1/redistribution-reports/{id}/acceptance",
        Operation::AcceptReport,
    ),
    (
        "POST",
        "/v1/redistribution-reports/{id}/rejection",
        Operation::RejectReport,
    ),
    (
        "POST",
        "/v1/redistribution-reports/{id}/reversal",
        Operation::ReverseReport,
    ),
    (
        "POST",
        "/v1/fee-coverage/deposits",
        Operation::DepositFeeCoverage,
    ),
    ("POST", "/v1/transfer-runs", Operation::PlanTransferRun),
    (
        "POST",
        "/v1/transfer-runs/{id}/execution",
        Operation::ExecuteTransferRun,
    ),
    (
        "POST",
        "/v1/transfers/{id}/confirmation",
        Operation::ConfirmTransfer,
    ),
    (
        "POST",
        "/v1/transfers/{id}/dispute-resolution",
        Operation::ResolveDispute,
    ),
    (
        "POST",
        "/v1/programmes/{id}/held-funds/{beneficiary_id}/return",
        Operation::ReturnHeldFunds,
    ),
    ("POST", "/v1/users", Operation::InviteUser),
    ("POST", "/v1/users/{id}/disable", Operation::DisableUser),
    ("POST", "/v1/users/me/password", Operation::ChangePassword),
    ("DELETE", "/v1/sessions/current", Operation::SignOut),
    ("POST", "/v1/api-keys", Operation::CreateApiKey),
    (
        "POST",
        "/v1/api-keys/{id}/revocation",
        Operation::RevokeApiKey,
    ),
    (
        "POST",
        "/v1/sessions/{id}/revocation",
        Operation::RevokeSession,
    ),
    (
        "POST",
        "/v1/proposals/{id}/approval",
        Operation::ApproveProposal,
    ),
    (
        "POST",
        "/v1/proposals/{id}/rejection",
        Operation::RejectProposal,
    ),
];

/// The writes anyone may call: the credential they check is the caller's proof.
pub const PUBLIC_WRITE_ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/sessions"),
    ("POST", "/v1/sessions/refresh"),
    ("POST", "/v1/invitations/acceptance"),
];

/// The operation of a write route, if listed.
pub fn write_operation(method: &Method, route: &str) -> Option<Operation> {
    WRITE_ROUTES
        .iter()
        .find(|(listed_method, listed_route, _)| {
            *listed_method == method.as_str() && *listed_route == route
        })
        .map(|(_, _, operation)| *operation)
}

/// A request that carries a body is authenticated, and its role checked, before the body is read:
/// a caller whose role may not write here is refused without the server buffering up to
/// [`crate::MAX_REQUEST_BODY_BYTES`] for it. The principal is handed to the handler.
pub async fn authorise_before_body(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // Only listed writes: a method the route does not have must still answer 405.
    let Some(operation) = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|route| write_operation(request.method(), route.as_str()))
    else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    // A write's API key is checked inside the write's own transaction (see `ledger_app::runner`).
    let principal = match principal_of(&parts, &state, KeyCheck::ByTheOperation).await {
        Ok(principal) => principal,
        Err(error) => return error.into_response(),
    };
    if let Err(error) = ledger_app::policy::require(operation, &principal) {
        return ApiError::from(error).into_response();
    }
    parts.extensions.insert(principal);
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"unit-test-secret-of-at-least-32-bytes";
    const ORGANISATION: &str = "00000000-0000-0000-0000-000000000001";

    fn sign(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    fn claims(now: u64) -> serde_json::Value {
        json!({"sub": "someone", "org": ORGANISATION, "role": "admin", "iat": now, "exp": now + 3600})
    }

    fn detail(result: Result<Principal, ApiError>) -> String {
        let error = result.expect_err("the token must be refused");
        assert_eq!(error.status(), axum::http::StatusCode::UNAUTHORIZED);
        error.problem().detail
    }

    #[test]
    fn lifetime_and_not_before_are_checked() {
        // Proves `nbf` in the future, a missing or future `iat`, and a lifetime over the maximum
        // (an `exp` of 2^64−1 included) are refused, while an ordinary token passes.
        let verifier = TokenVerifier::hs256(SECRET, None, None)
            .unwrap()
            .with_max_lifetime(Duration::from_secs(7200));
        let now = unix_now_seconds();
        assert!(verifier.verify(&sign(claims(now))).is_ok());
        let mut not_yet = claims(now);
        not_yet["nbf"] = json!(now + 600);
        assert!(detail(verifier.verify(&sign(not_yet))).contains("nbf"));
        let mut past_nbf = claims(now);
        past_nbf["nbf"] = json!(now - 10);
        assert!(verifier.verify(&sign(past_nbf)).is_ok());
        let mut no_iat = claims(now);
        no_iat.as_object_mut().unwrap().remove("iat");
        assert!(detail(verifier.verify(&sign(no_iat))).contains("iat"));
        let mut future_iat = claims(now);
        future_iat["iat"] = json!(now + 600);
        future_iat["exp"] = json!(now + 1200);
        assert!(detail(verifier.verify(&sign(future_iat))).contains("future"));
        let mut long = claims(now);
        long["exp"] = json!(now + 7201);
        assert!(detail(verifier.verify(&sign(long))).contains("7200"));
        let mut for_ever = claims(now);
        for_ever["exp"] = json!(u64::MAX);
        assert!(detail(verifier.verify(&sign(for_ever))).contains("longer"));
        let mut just_right = claims(now);
        just_right["exp"] = json!(now + 7200);
        assert!(verifier.verify(&sign(just_right)).is_ok());
        assert_eq!(
            TokenVerifier::hs256(SECRET, None, None)
                .unwrap()
                .max_lifetime(),
            DEFAULT_MAX_TOKEN_LIFETIME
        );
    }

    #[test]
    fn configured_issuer_and_audience_are_required() {
        // Proves that once configured, `iss` and `aud` must be present and equal; unconfigured,
        // they are not required.
        let verifier =
            TokenVerifier::hs256(SECRET, Some("https://id.example"), Some("ledger")).unwrap();
        let now = unix_now_seconds();
        let mut good = claims(now);
        good["iss"] = json!("https://id.example");
        good["aud"] = json!("ledger");
        assert!(verifier.verify(&sign(good.clone())).is_ok());
        for (field, wrong) in [("iss", "https://other.example"), ("aud", "other")] {
            let mut missing = good.clone();
            missing.as_object_mut().unwrap().remove(field);
            assert!(
                detail(verifier.verify(&sign(missing))).contains("required claim"),
                "{field}"
            );
            let mut other = good.clone();
            other[field] = json!(wrong);
            assert!(
                detail(verifier.verify(&sign(other))).contains("not accepted"),
                "{field}"
            );
        }
        let open = TokenVerifier::hs256(SECRET, None, None).unwrap();
        assert!(open.verify(&sign(claims(now))).is_ok());
    }

    #[test]
    fn each_role_fits_only_its_kinds_of_organisation() {
        // Proves the binding table: admin only for the network; auditor for the network or an
        // auditor; contributor and beneficiary only for their own kind.
        use ledger_core::organisation::OrganisationKind::{
            Auditor, Beneficiary, Contributor, Network,
        };
        let kinds = [Contributor, Beneficiary, Network, Auditor];
        let allowed = [
            (Role::Admin, vec![Network]),
            (Role::Auditor, vec![Network, Auditor]),
            (Role::Contributor, vec![Contributor]),
            (Role::Beneficiary, vec![Beneficiary]),
        ];
        for (role, fitting) in allowed {
            for kind in kinds {
                assert_eq!(
                    role.fits(kind),
                    fitting.contains(&kind),
                    "{role:?} {kind:?}"
                );
            }
        }
    }

    #[test]
    fn every_documented_write_has_its_roles_checked_before_its_body() {
        // Proves the write policy lists every operation that takes a body, so none can be made to
        // buffer a body before its role is known; and lists nothing that does not exist.
        let document = crate::openapi_document();
        let mut writes = Vec::new();
        for (path, item) in &document.paths.paths {
            for (method, operation) in [
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ] {
                if operation.is_some() {
                    writes.push((method, path.clone()));
                }
            }
        }
        writes.retain(|(method, path)| !PUBLIC_WRITE_ROUTES.contains(&(*method, path.as_str())));
        for (method, path) in &writes {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert!(
                write_operation(&method, path).is_some(),
                "{method} {path} is missing from WRITE_ROUTES"
            );
        }
        assert_eq!(writes.len(), WRITE_ROUTES.len());
    }
}
