//! API keys for partners' own systems: created by a user for its organisation, with a role no
//! higher than the user's, shown once, kept as a hash, revoked at once.

use crate::people::event_kinds::SecurityEventKind;
use chrono::{DateTime, Utc};
use ledger_core::OrganisationId;
use ledger_core::text::TextKind;
use ledger_store::people::{ApiKeyRow, KeyCreation, SecurityEventRow};
use ledger_store::{IdempotencyEntry, StoredResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::users::signed_in_user;
use super::{ApiKeyView, MAX_KEY_NAME_CHARS, event, secrets};
use crate::App;
use crate::caller::{Caller, Role};
use crate::error::{AppError, FieldError};
use crate::fields::{parse_id, text_field};
use crate::idempotency::{IdempotencyKey, conflict};
use crate::pagination::{OrderedPageQuery, Page, page};
use crate::policy::Operation;
use crate::runner::{Action, Query, scope};

/// A key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyBody {
    /// What the key is for ("accounting system", "nightly export").
    pub name: String,
    /// The key's role: the creator's own (the default), or `auditor` for an admin's read-only key.
    pub role: Option<String>,
    /// RFC 3339; after it the key is refused. Omitted: until revoked.
    pub expires_at: Option<String>,
}

/// A new key, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreatedView {
    /// Send as `Authorization: Bearer <key>`. Never shown again: store it in your system's secrets.
    pub key: String,
    pub api_key: ApiKeyView,
}

/// Create an API key (a signed-in user, for its own organisation).
#[derive(Debug)]
pub struct CreateApiKey(pub CreateApiKeyBody);

impl Action for CreateApiKey {
    const OPERATION: Operation = Operation::CreateApiKey;
    type Output = ApiKeyCreatedView;

    async fn perform(self, app: &App, caller: &Caller) -> Result<ApiKeyCreatedView, AppError> {
        let new = new_key(app, caller, self.0).await?;
        app.store.create_api_key(&new.row, &new.recorded).await?;
        Ok(ApiKeyCreatedView {
            key: new.key,
            api_key: ApiKeyView::of(&new.row)?,
        })
    }
}

/// A key checked and made, not yet stored.
struct NewKey {
    row: ApiKeyRow,
    recorded: SecurityEventRow,
    /// The whole key, to show once.
    key: String,
}

/// Checks the body (every problem at once) and makes the key and its security event.
async fn new_key(app: &App, caller: &Caller, body: CreateApiKeyBody) -> Result<NewKey, AppError> {
    let user = signed_in_user(app, caller).await?;
    let now = app.sources.now();
    let mut errors = Vec::new();
    let name = text_field(
        "name",
        &body.name,
        MAX_KEY_NAME_CHARS,
        TextKind::Identifier,
        &mut errors,
    )
    .map(str::to_owned);
    let role = match body.role.as_deref() {
        None => Some(caller.role),
        Some(text) => match Role::parse(text) {
            Some(role) if caller.role.may_delegate(role) => Some(role),
            Some(_) => {
                errors.push(FieldError::new(
                        "role",
                        format!(
                            "a {} may create keys of its own role only (an admin also read-only auditor keys)",
                            caller.role.as_str()
                        ),
                    ));
                None
            }
            None => {
                errors.push(FieldError::new(
                    "role",
                    "must be contributor, beneficiary, auditor or admin",
                ));
                None
            }
        },
    };
    let expires_at = match body.expires_at.as_deref() {
        None => None,
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(at) if at.with_timezone(&Utc) > now => Some(at.with_timezone(&Utc)),
            Ok(_) => {
                errors.push(FieldError::new("expires_at", "must lie in the future"));
                None
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "expires_at",
                    "must be an RFC 3339 time such as 2027-06-30T00:00:00Z",
                ));
                None
            }
        },
    };
    let (Some(name), Some(role), true) = (name, role, errors.is_empty()) else {
        return Err(AppError::validation(errors));
    };
    let (prefix, key, secret_hash) = secrets::new_api_key();
    let row = ApiKeyRow {
        id: app.sources.id(),
        organisation_id: caller.organisation.as_uuid(),
        created_by: user.id,
        name,
        role: role.as_str().to_owned(),
        prefix,
        secret_hash: secret_hash.to_vec(),
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    let recorded = event(
        app,
        SecurityEventKind::ApiKeyCreated,
        &user.email,
        Some(&user),
        None,
        json!({"key_id": row.id, "prefix": row.prefix, "role": row.role}),
    );
    Ok(NewKey { row, recorded, key })
}

/// Create an API key once per request (the portal's form, whose one-off request id is the
/// idempotency key): the key, its event and the request's idempotency record are stored in one
/// transaction, so a double submission creates one key. The record keeps the key's view, never
/// the key: the secret is kept only as a hash, so a repeated request is told which key the first
/// created ([`KeyCreated::Already`]) and never sees the secret again. The same request id with
/// another body is a conflict, as for every idempotent write.
#[derive(Debug)]
pub struct CreateApiKeyOnce {
    pub body: CreateApiKeyBody,
    pub request: IdempotencyKey,
}

/// What [`CreateApiKeyOnce`] did.
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyCreated {
    /// A new key, shown this once.
    New(ApiKeyCreatedView),
    /// The request was made before: the key it created, as it stands now (no secret).
    Already(ApiKeyView),
}

impl Action for CreateApiKeyOnce {
    const OPERATION: Operation = Operation::CreateApiKey;
    type Output = KeyCreated;

    async fn perform(self, app: &App, caller: &Caller) -> Result<KeyCreated, AppError> {
        let request = self.request;
        if let Some(first) = app.replay(caller, &request).await? {
            return already_created(app, &first).await;
        }
        let new = new_key(app, caller, self.body).await?;
        let view = ApiKeyView::of(&new.row)?;
        let entry = IdempotencyEntry {
            scope: scope(caller),
            key: request.key().to_owned(),
            fingerprint: request.fingerprint(),
            response_status: CREATED_STATUS,
            response_body: serde_json::to_string(&view).map_err(AppError::internal)?,
            created_at: app.sources.timestamp(),
        };
        match app
            .store
            .create_api_key_once(&new.row, &new.recorded, &entry)
            .await?
        {
            KeyCreation::Replayed(first) if request.matches(&first) => {
                already_created(app, &first).await
            }
            KeyCreation::Replayed(_) => Err(conflict()),
            _ => Ok(KeyCreated::New(ApiKeyCreatedView {
                key: new.key,
                api_key: view,
            })),
        }
    }
}

/// The status kept with a created key's record (the API's 201).
const CREATED_STATUS: u16 = 201;

/// The key a request created before, read again by the id its record keeps.
async fn already_created(app: &App, first: &StoredResponse) -> Result<KeyCreated, AppError> {
    let id = serde_json::from_str::<serde_json::Value>(&first.response_body)
        .ok()
        .and_then(|body| body["id"].as_str().and_then(|id| id.parse::<Uuid>().ok()))
        .ok_or_else(|| AppError::internal_message("a key's idempotency record names no key"))?;
    let row = app
        .store
        .api_key(id)
        .await?
        .ok_or_else(|| AppError::internal_message("a key's idempotency record names no key"))?;
    Ok(KeyCreated::Already(ApiKeyView::of(&row)?))
}

/// List API keys: admins and auditors all, others their organisation's.
#[derive(Debug)]
pub struct ListApiKeys(pub OrderedPageQuery);

impl Query for ListApiKeys {
    const OPERATION: Operation = Operation::ListApiKeys;
    type Output = Page<ApiKeyView>;

    async fn read(self, app: &App, caller: &Caller) -> Result<Page<ApiKeyView>, AppError> {
        let (limit, seek) = self.0.parse()?;
        let organisation = (!caller.sees_everything()).then_some(caller.organisation);
        let rows = app.store.api_keys(organisation, seek, limit + 1).await?;
        let listed = page(rows, limit, |row| row.id, |row| row);
        Ok(Page {
            items: listed
                .items
                .iter()
                .map(ApiKeyView::of)
                .collect::<Result<_, _>>()?,
            next_cursor: listed.next_cursor,
        })
    }
}

/// Revoke an API key of the caller's organisation (the network's admins: any key). Another
/// organisation's key is not disclosed (404). Revoking a revoked key answers it as it is.
#[derive(Debug)]
pub struct RevokeApiKey(pub String);

impl Action for RevokeApiKey {
    const OPERATION: Operation = Operation::RevokeApiKey;
    type Output = ApiKeyView;

    async fn perform(self, app: &App, caller: &Caller) -> Result<ApiKeyView, AppError> {
        let not_found = || AppError::not_found("no such API key");
        let id = parse_id(&self.0).ok_or_else(not_found)?;
        let key = app.store.api_key(id).await?.ok_or_else(not_found)?;
        let own = caller.organisation == OrganisationId::from_uuid(key.organisation_id);
        if !(own || caller.role == Role::Admin) {
            return Err(not_found());
        }
        let user = match caller.user_id() {
            Some(user_id) => app.store.user(user_id).await?,
            None => None,
        };
        let recorded = event(
            app,
            SecurityEventKind::ApiKeyRevoked,
            &caller.subject,
            user.as_ref(),
            None,
            json!({"key_id": key.id, "prefix": key.prefix}),
        );
        app.store
            .revoke_api_key(key.id, app.sources.now(), &recorded)
            .await?;
        let key = app.store.api_key(id).await?.ok_or_else(not_found)?;
        ApiKeyView::of(&key)
    }
}
