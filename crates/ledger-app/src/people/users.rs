//! Users: invited by the network's admins, a password set with the invitation, disabled when they
//! leave.

use crate::people::event_kinds::SecurityEventKind;
use ledger_core::OrganisationId;
use ledger_store::people::{InvitationUse, UserRow};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::secrets::{self, INVITATION_PREFIX};
use super::{INVITATION_LIFETIME, Origin, UserView, event, normalise_email, time};
use crate::App;
use crate::caller::{Caller, Role};
use crate::error::{AppError, FieldError};
use crate::fields::parse_id;
use crate::pagination::{Page, PageQuery, page};
use crate::policy::Operation;
use crate::runner::{Action, Query};

/// A person to invite.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteUserBody {
    pub email: String,
    /// The organisation the user acts for (its id or its slug).
    pub organisation: String,
    /// contributor | beneficiary | auditor | admin; it must fit the organisation's kind.
    pub role: String,
}

/// An invitation, shown once: the invitee sets a password with the token before it expires.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub user: UserView,
    /// Single use; send it to the invitee by a channel you trust. Never shown again.
    pub invitation_token: String,
    pub expires_at: String,
}

/// Invite a user (the network's admins; the CLI's `user add`).
#[derive(Debug)]
pub struct InviteUser(pub InviteUserBody);

impl Action for InviteUser {
    const OPERATION: Operation = Operation::InviteUser;
    type Output = InvitationView;

    async fn perform(self, app: &App, caller: &Caller) -> Result<InvitationView, AppError> {
        let body = self.0;
        let mut errors = Vec::new();
        let email = normalise_email(&body.email)
            .map_err(|message| errors.push(FieldError::new("email", message)))
            .ok();
        let role = Role::parse(&body.role);
        if role.is_none() {
            errors.push(FieldError::new(
                "role",
                "must be contributor, beneficiary, auditor or admin",
            ));
        }
        let organisation = match parse_id(&body.organisation) {
            Some(id) => {
                app.store
                    .organisation(OrganisationId::from_uuid(id))
                    .await?
            }
            None => {
                app.store
                    .organisation_by_slug(body.organisation.trim())
                    .await?
            }
        };
        match (&organisation, role) {
            (None, _) => errors.push(FieldError::new("organisation", "no such organisation")),
            (Some(organisation), Some(role)) if !role.fits(organisation.kind) => {
                errors.push(FieldError::new(
                    "role",
                    format!(
                        "an organisation of kind {} cannot hold the {} role",
                        organisation.kind.as_str(),
                        role.as_str()
                    ),
                ));
            }
            _ => {}
        }
        let (Some(email), Some(role), Some(organisation), true) =
            (email, role, organisation, errors.is_empty())
        else {
            return Err(AppError::validation(errors));
        };
        let now = app.sources.now();
        let user = UserRow {
            id: app.sources.id(),
            organisation_id: organisation.id.as_uuid(),
            email,
            role: role.as_str().to_owned(),
            password_hash: None,
            created_by: caller.subject.clone(),
            created_at: now,
            password_changed_at: None,
            disabled_at: None,
        };
        let (token, token_hash) = secrets::new_token(INVITATION_PREFIX);
        let expires_at = now + INVITATION_LIFETIME;
        let recorded = event(
            app,
            SecurityEventKind::InvitationCreated,
            &caller.subject,
            Some(&user),
            None,
            json!({"email": user.email, "role": user.role}),
        );
        app.store
            .create_user(&user, token_hash, expires_at, &recorded)
            .await
            .map_err(|error| match error {
                ledger_store::StoreError::UniqueViolation(_) => AppError::conflict(
                    "email_taken",
                    "a user with this email already exists; nothing was written",
                ),
                other => other.into(),
            })?;
        Ok(InvitationView {
            user: UserView::of(&user)?,
            invitation_token: token,
            expires_at: time(expires_at),
        })
    }
}

/// A password set with an invitation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationBody {
    pub invitation_token: String,
    /// 12 to 256 characters.
    pub password: String,
}

/// Accept an invitation: set the password (public; the token is the proof).
pub async fn accept_invitation(
    app: &App,
    body: AcceptInvitationBody,
    origin: &Origin,
) -> Result<UserView, AppError> {
    secrets::check_password(&body.password)
        .map_err(|message| AppError::invalid_field("password", message))?;
    let password_hash = secrets::hash_password(&body.password)?;
    let now = app.sources.now();
    let recorded = event(
        app,
        SecurityEventKind::PasswordSet,
        "",
        None,
        origin.client.as_deref(),
        json!({"by": "invitation"}),
    );
    match app
        .store
        .accept_invitation(
            secrets::token_hash(body.invitation_token.trim()),
            &password_hash,
            now,
            &recorded,
        )
        .await?
    {
        InvitationUse::Accepted(user) => UserView::of(&user),
        InvitationUse::Unknown => Err(AppError::not_found("no such invitation")),
        InvitationUse::Used => Err(AppError::conflict(
            "invitation_used",
            "this invitation was already used; ask an admin for a new one",
        )),
        InvitationUse::Expired => Err(AppError::conflict(
            "invitation_expired",
            "this invitation has expired; ask an admin for a new one",
        )),
    }
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordBody {
    pub current_password: String,
    /// 12 to 256 characters.
    pub new_password: String,
}

/// Change one's own password; every session of the user is revoked (sign in again).
#[derive(Debug)]
pub struct ChangePassword(pub ChangePasswordBody);

impl Action for ChangePassword {
    const OPERATION: Operation = Operation::ChangePassword;
    type Output = ();

    async fn perform(self, app: &App, caller: &Caller) -> Result<(), AppError> {
        let user = signed_in_user(app, caller).await?;
        secrets::check_password(&self.0.new_password)
            .map_err(|message| AppError::invalid_field("new_password", message))?;
        if !secrets::verify_password(&self.0.current_password, user.password_hash.as_deref()) {
            return Err(AppError::invalid_field(
                "current_password",
                "is not the current password",
            ));
        }
        let hash = secrets::hash_password(&self.0.new_password)?;
        let recorded = event(
            app,
            SecurityEventKind::PasswordChanged,
            &user.email,
            Some(&user),
            None,
            json!({}),
        );
        app.store
            .change_password(user.id, &hash, app.sources.now(), &recorded)
            .await?;
        Ok(())
    }
}

/// The user behind a caller; a caller without one (a minted token) is refused.
pub(crate) async fn signed_in_user(app: &App, caller: &Caller) -> Result<UserRow, AppError> {
    let id = caller.user_id().ok_or_else(|| {
        AppError::forbidden("only a signed-in user can do this (a minted token has no user)")
    })?;
    app.store
        .user(id)
        .await?
        .ok_or_else(|| AppError::internal_message("the caller's user is not stored"))
}

/// Disable a user: its sessions and keys are revoked at once, on every instance.
#[derive(Debug)]
pub struct DisableUser(pub String);

impl Action for DisableUser {
    const OPERATION: Operation = Operation::DisableUser;
    type Output = UserView;

    async fn perform(self, app: &App, caller: &Caller) -> Result<UserView, AppError> {
        let not_found = || AppError::not_found("no such user");
        let id = parse_id(&self.0).ok_or_else(not_found)?;
        let user = app.store.user(id).await?.ok_or_else(not_found)?;
        let recorded = event(
            app,
            SecurityEventKind::UserDisabled,
            &caller.subject,
            Some(&user),
            None,
            json!({"email": user.email}),
        );
        app.store
            .disable_user(user.id, app.sources.now(), &recorded)
            .await?;
        let user = app.store.user(id).await?.ok_or_else(not_found)?;
        UserView::of(&user)
    }
}

/// List users: admins and auditors all, others their own organisation's.
#[derive(Debug)]
pub struct ListUsers(pub PageQuery);

impl Query for ListUsers {
    const OPERATION: Operation = Operation::ListUsers;
    type Output = Page<UserView>;

    async fn read(self, app: &App, caller: &Caller) -> Result<Page<UserView>, AppError> {
        let (limit, after) = self.0.parse()?;
        let organisation = (!caller.sees_everything()).then_some(caller.organisation);
        let rows = app.store.users(organisation, after, limit + 1).await?;
        let listed = page(rows, limit, |row| row.id, |row| row);
        Ok(Page {
            items: listed
                .items
                .iter()
                .map(UserView::of)
                .collect::<Result<_, _>>()?,
            next_cursor: listed.next_cursor,
        })
    }
}

/// The user with this id, when the caller may see it.
pub async fn visible_user(app: &App, caller: &Caller, id: Uuid) -> Result<UserRow, AppError> {
    let not_found = || AppError::not_found("no such user");
    let user = app.store.user(id).await?.ok_or_else(not_found)?;
    if caller.may_see(OrganisationId::from_uuid(user.organisation_id)) {
        Ok(user)
    } else {
        Err(not_found())
    }
}
