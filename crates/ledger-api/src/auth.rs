//! Authentication and roles: Bearer JWTs carrying `sub`, `org`, `role` and `exp`.
//!
//! Tokens are HS256 with the service's secret by default; a public key (EdDSA or RS256, PEM) may be
//! configured instead so an external identity provider can issue them. Only the configured
//! algorithm is accepted (`alg: none` never is). Tokens are never logged.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ledger_core::{Actor, OrganisationId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::problem::ApiError;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A northern union or mutual: submits and follows its own batches.
    Contributor,
    /// A southern mutual: confirms its own transfers, reports its redistribution.
    Beneficiary,
    /// Reads everything, writes nothing.
    Auditor,
    /// The network: runs the fund.
    Admin,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Contributor => "contributor",
            Role::Beneficiary => "beneficiary",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Some(match text {
            "contributor" => Role::Contributor,
            "beneficiary" => Role::Beneficiary,
            "auditor" => Role::Auditor,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

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
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret: never printed.
        formatter
            .debug_struct("TokenVerifier")
            .field("algorithms", &self.validation.algorithms)
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
        validation.leeway = 30;
        validation.validate_aud = audience.is_some();
        if let Some(issuer) = issuer {
            validation.set_issuer(&[issuer]);
        }
        if let Some(audience) = audience {
            validation.set_audience(&[audience]);
        }
        TokenVerifier {
            key: Arc::new(key),
            validation,
        }
    }

    /// Checks a token and returns who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(
            |error| {
                use jsonwebtoken::errors::ErrorKind;
                let reason = match error.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
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
        Ok(Principal {
            subject: claims.sub,
            organisation,
            role: claims.role,
        })
    }
}

/// Signs an HS256 token (the `token` command, tests).
pub fn mint_hs256(secret: &[u8], claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub organisation: OrganisationId,
    pub role: Role,
}

impl Principal {
    /// Refuses callers whose role is not among `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "the {} role may not do this",
                self.role.as_str()
            )))
        }
    }

    /// Admins and auditors see every organisation's data.
    pub fn sees_everything(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Auditor)
    }

    /// The actor recorded on journal transactions.
    pub fn actor(&self) -> Actor {
        Actor {
            subject: self.subject.clone(),
            organisation: Some(self.organisation),
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
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
        let principal = state.tokens.verify(token)?;
        let span = tracing::Span::current();
        span.record(
            "organisation",
            tracing::field::display(principal.organisation),
        );
        span.record("role", principal.role.as_str());
        Ok(principal)
    }
}
