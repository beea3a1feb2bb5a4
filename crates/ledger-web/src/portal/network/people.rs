//! The network's people pages (issue 21 item 4): users and invitations (invite a user for an
//! organisation with a role, the invitation token shown once; disable a user) and the security
//! record. Each runs the API's own action or query.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use ledger_app::pagination::PageQuery;
use ledger_app::people::events::{ListSecurityEvents, SecurityEventQuery};
use ledger_app::people::users::{DisableUser, InviteUser, InviteUserBody, ListUsers};
use ledger_app::registry::{ListOrganisations, OrganisationView};
use ledger_app::{AppError, Operation, Refusal};
use minijinja::{Value, context};

use super::super::session::SignedIn;
use super::super::{
    Fields, Portal, field, form_page, refused, require_signed_in, see_other, signed_form,
};
use crate::i18n::negotiate;

/// Users and organisations listed (the network has far fewer).
const LISTED: u32 = 1000;
/// Security events per page.
const EVENTS_PER_PAGE: u32 = 100;

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/portal/network/users", get(users).post(invite))
        .route("/portal/network/users/{id}/disable", post(disable))
        .route("/portal/network/security", get(security))
}

/// The invitation form as typed, its errors by field.
#[derive(Debug, Default, serde::Serialize)]
struct InviteForm {
    email: String,
    organisation: String,
    role: String,
    errors: BTreeMap<String, Vec<String>>,
}

const INVITE_FIELDS: [&str; 3] = ["email", "organisation", "role"];

impl InviteForm {
    fn with_fields(mut self) -> InviteForm {
        for name in INVITE_FIELDS {
            self.errors.entry(name.to_owned()).or_default();
        }
        self
    }
}

async fn organisations(
    portal: &Portal,
    signed: &SignedIn,
) -> Result<Vec<OrganisationView>, AppError> {
    let page = PageQuery {
        limit: Some(LISTED),
        cursor: None,
    };
    Ok(portal
        .app
        .query(&signed.caller, ListOrganisations(page))
        .await?
        .items)
}

/// The users page, with the invitation form (`form`) and a new invitation to show once.
async fn render_users(
    portal: &Portal,
    signed: &SignedIn,
    headers: &HeaderMap,
    uri: &Uri,
    status: StatusCode,
    form: InviteForm,
    invitation: Option<ledger_app::people::users::InvitationView>,
) -> Response {
    let lang = negotiate(headers);
    // The page is for those who invite: refused as the invitation is, before listing anyone.
    if let Err(error) = ledger_app::policy::require(Operation::InviteUser, &signed.caller) {
        return refused(&error, lang, uri);
    }
    let users = match portal
        .app
        .query(
            &signed.caller,
            ListUsers(PageQuery {
                limit: Some(LISTED),
                cursor: None,
            }),
        )
        .await
    {
        Ok(page) => page.items,
        Err(error) => return refused(&error, lang, uri),
    };
    let organisations = match organisations(portal, signed).await {
        Ok(organisations) => organisations,
        Err(error) => return refused(&error, lang, uri),
    };
    let names: BTreeMap<String, String> = organisations
        .iter()
        .map(|organisation| (organisation.id.to_string(), organisation.name.clone()))
        .collect();
    form_page(
        portal,
        status,
        "portal_network_users.html",
        headers,
        uri,
        Some(signed),
        context! {
            users => Value::from_serialize(&users),
            organisations => Value::from_serialize(&organisations),
            organisation_names => Value::from_serialize(&names),
            form => Value::from_serialize(form.with_fields()),
            invitation => Value::from_serialize(&invitation),
        },
    )
}

async fn users(
    State(portal): State<Portal>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
) -> Response {
    match require_signed_in(&portal, &headers, &extensions, &uri).await {
        Ok(signed) => {
            render_users(
                &portal,
                &signed,
                &headers,
                &uri,
                StatusCode::OK,
                InviteForm::default(),
                None,
            )
            .await
        }
        Err(response) => response,
    }
}

/// Invites a user with the API's action: the invitation token is shown once on the page (to send
/// to the invitee by a channel the network trusts); refusals at their fields.
async fn invite(
    State(portal): State<Portal>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let lang = negotiate(&headers);
    let signed = match signed_form(&portal, &headers, &extensions, &uri, &fields).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let value = |name: &str| field(&fields, name).unwrap_or_default().trim().to_owned();
    let mut form = InviteForm {
        email: value("email"),
        organisation: value("organisation"),
        role: value("role"),
        errors: BTreeMap::new(),
    };
    let body = InviteUserBody {
        email: form.email.clone(),
        organisation: form.organisation.clone(),
        role: form.role.clone(),
    };
    match portal.app.perform(&signed.caller, InviteUser(body)).await {
        Ok(invitation) => {
            render_users(
                &portal,
                &signed,
                &headers,
                &uri,
                StatusCode::CREATED,
                InviteForm::default(),
                Some(invitation),
            )
            .await
        }
        Err(error) if matches!(error.refusal, Refusal::Invalid | Refusal::Conflict) => {
            if error.errors.is_empty() {
                form.errors
                    .entry("email".to_owned())
                    .or_default()
                    .push(error.detail.clone());
            }
            for refusal in &error.errors {
                let name = if INVITE_FIELDS.contains(&refusal.field.as_str()) {
                    refusal.field.as_str()
                } else {
                    "email"
                };
                form.errors
                    .entry(name.to_owned())
                    .or_default()
                    .push(refusal.message.clone());
            }
            let status = if error.refusal == Refusal::Invalid {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::CONFLICT
            };
            render_users(&portal, &signed, &headers, &uri, status, form, None).await
        }
        Err(error) => refused(&error, lang, &uri),
    }
}

/// Disables a user (its sessions and keys end at once).
async fn disable(
    State(portal): State<Portal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let lang = negotiate(&headers);
    let signed = match signed_form(&portal, &headers, &extensions, &uri, &fields).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    match portal.app.perform(&signed.caller, DisableUser(id)).await {
        Ok(_) => {
            let mut response = see_other("/portal/network/users");
            signed.keep(portal.cookies, &mut response);
            response
        }
        Err(error) => refused(&error, lang, &uri),
    }
}

/// Which security events to show.
#[derive(Debug, serde::Deserialize)]
struct EventsQuery {
    kind: Option<String>,
    cursor: Option<String>,
}

/// The security record, oldest first, a page at a time (a kind may be chosen).
async fn security(
    State(portal): State<Portal>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
) -> Response {
    let lang = negotiate(&headers);
    let signed = match require_signed_in(&portal, &headers, &extensions, &uri).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let kind = query.kind.filter(|kind| !kind.trim().is_empty());
    let listed = ListSecurityEvents(SecurityEventQuery {
        kind: kind.clone(),
        limit: Some(EVENTS_PER_PAGE),
        cursor: query.cursor.filter(|cursor| !cursor.is_empty()),
        ..SecurityEventQuery::default()
    });
    match portal.app.query(&signed.caller, listed).await {
        Ok(page) => form_page(
            &portal,
            StatusCode::OK,
            "portal_network_security.html",
            &headers,
            &uri,
            Some(&signed),
            context! {
                events => Value::from_serialize(&page.items),
                next_cursor => page.next_cursor,
                kind => kind.unwrap_or_default(),
            },
        ),
        Err(error) if error.refusal == Refusal::Invalid => {
            refused(&AppError::not_found("no such page"), lang, &uri)
        }
        Err(error) => refused(&error, lang, &uri),
    }
}
