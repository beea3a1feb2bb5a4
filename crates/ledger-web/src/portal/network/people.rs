//! The network's people pages (issue 21 item 4): users and invitations (invite a user for an
//! organisation with a role, the invitation token shown once; disable a user) and the security
//! record. Each runs the API's own action or query.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use ledger_app::pagination::ListOrder;
use ledger_app::pagination::PageQuery;
use ledger_app::people::events::{ListSecurityEvents, SecurityEventKind, SecurityEventQuery};
use ledger_app::people::users::{DisableUser, InviteUser, InviteUserBody, ListUsers};
use ledger_app::{Operation, Refusal};
use minijinja::{Value, context};

use super::super::Portal;
use super::super::visit::{SignedForm, Visit};

/// Users per page of the list (the oldest first).
const USERS_PER_PAGE: u32 = 50;
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

/// The users page, with the invitation form (`form`) and a new invitation to show once.
async fn render_users(
    visit: &Visit,
    status: StatusCode,
    form: InviteForm,
    invitation: Option<ledger_app::people::users::InvitationView>,
) -> Response {
    // The page is for those who invite: refused as the invitation is, before listing anyone.
    if let Err(error) = ledger_app::policy::require(Operation::InviteUser, visit.caller()) {
        return visit.refused(&error);
    }
    let (users, paging) = match visit
        .portal
        .app
        .query(
            visit.caller(),
            ListUsers(PageQuery {
                limit: Some(USERS_PER_PAGE),
                cursor: visit.cursor(),
            }),
        )
        .await
    {
        Ok(page) => (
            page.items,
            visit.paging(ListOrder::OldestFirst, page.next_cursor.as_deref()),
        ),
        Err(error) => return visit.refused(&error),
    };
    let organisations = match visit.organisations().await {
        Ok(organisations) => organisations,
        Err(error) => return visit.refused(&error),
    };
    let names: BTreeMap<String, String> = organisations
        .iter()
        .map(|organisation| (organisation.id.to_string(), organisation.name.clone()))
        .collect();
    visit.page(
        status,
        "portal_network_users.html",
        context! {
            users => Value::from_serialize(&users),
            paging => paging,
            organisations => Value::from_serialize(&organisations),
            organisation_names => Value::from_serialize(&names),
            form => Value::from_serialize(form.with_fields()),
            invitation => Value::from_serialize(&invitation),
        },
    )
}

async fn users(visit: Visit) -> Response {
    render_users(&visit, StatusCode::OK, InviteForm::default(), None).await
}

/// Invites a user with the API's action: the invitation token is shown once on the page (to send
/// to the invitee by a channel the network trusts); refusals at their fields.
async fn invite(form: SignedForm) -> Response {
    let value = |name: &str| form.field(name).unwrap_or_default().trim().to_owned();
    let visit = &form.visit;
    let mut typed = InviteForm {
        email: value("email"),
        organisation: value("organisation"),
        role: value("role"),
        errors: BTreeMap::new(),
    };
    let body = InviteUserBody {
        email: typed.email.clone(),
        organisation: typed.organisation.clone(),
        role: typed.role.clone(),
    };
    match visit
        .portal
        .app
        .perform(visit.caller(), InviteUser(body))
        .await
    {
        Ok(invitation) => {
            render_users(
                visit,
                StatusCode::CREATED,
                InviteForm::default(),
                Some(invitation),
            )
            .await
        }
        Err(error) if matches!(error.refusal, Refusal::Invalid | Refusal::Conflict) => {
            if error.errors.is_empty() {
                typed
                    .errors
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
                typed
                    .errors
                    .entry(name.to_owned())
                    .or_default()
                    .push(refusal.message.clone());
            }
            let status = if error.refusal == Refusal::Invalid {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::CONFLICT
            };
            render_users(visit, status, typed, None).await
        }
        Err(error) => visit.refused(&error),
    }
}

/// Disables a user (its sessions and keys end at once).
async fn disable(Path(id): Path<String>, SignedForm { visit, .. }: SignedForm) -> Response {
    visit
        .perform_then_see(DisableUser(id), "/portal/network/users")
        .await
}

/// Which security events to show (the page asked for is the visit's cursor).
#[derive(Debug, serde::Deserialize)]
struct EventsQuery {
    kind: Option<String>,
}

/// The security record, newest first, a page at a time (a kind may be chosen; its pages keep it).
async fn security(Query(query): Query<EventsQuery>, visit: Visit) -> Response {
    let kind = query.kind.filter(|kind| !kind.trim().is_empty());
    let listed = ListSecurityEvents(SecurityEventQuery {
        kind: kind.clone(),
        limit: Some(EVENTS_PER_PAGE),
        cursor: visit.cursor(),
        order: Some(ListOrder::NewestFirst),
        ..SecurityEventQuery::default()
    });
    // Each kind the service records, for the filter; an event of a kind it no longer records
    // (none today) shows its name on record only.
    let kinds: Vec<&str> = SecurityEventKind::ALL
        .iter()
        .map(|kind| kind.as_str())
        .collect();
    match visit.portal.app.query(visit.caller(), listed).await {
        Ok(page) => visit.page(
            StatusCode::OK,
            "portal_network_security.html",
            context! {
                events => Value::from_serialize(&page.items),
                paging => visit.paging(ListOrder::NewestFirst, page.next_cursor.as_deref()),
                kind => kind.unwrap_or_default(),
                kinds => kinds,
            },
        ),
        Err(error) => visit.refused(&error),
    }
}
