//! Reading the security record (admins and auditors).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use ledger_store::people::{SecurityEventFilter, SecurityEventRow};

use super::time;
use crate::App;
use crate::caller::Caller;
use crate::error::AppError;
use crate::pagination::{ListOrder, Page, PageQuery, page};
use crate::policy::Operation;
use crate::runner::Query;

/// What a security event records. Every event the service writes is of one of these kinds, so
/// the pages can name each one in the reader's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityEventKind {
    /// A user signed in.
    SignIn,
    /// A sign-in was refused (unknown email, wrong password, disabled user).
    SignInFailed,
    /// Sign-ins for an email were refused for a while after too many failures.
    SignInThrottled,
    /// A user signed out.
    SignOut,
    /// A session was ended by an admin or by its user.
    SessionRevoked,
    /// A user was invited.
    InvitationCreated,
    /// An invitation was accepted and its password chosen.
    PasswordSet,
    /// A user changed its password.
    PasswordChanged,
    /// A user was disabled.
    UserDisabled,
    /// An API key was made.
    ApiKeyCreated,
    /// An API key was revoked.
    ApiKeyRevoked,
    /// A token or key was refused (revoked, expired, its user disabled).
    CredentialRefused,
    /// An admin proposed an operation that needs a second admin.
    ProposalCreated,
    /// A second admin approved a proposal.
    ProposalApproved,
    /// A proposal was rejected or withdrawn.
    ProposalRejected,
}

impl SecurityEventKind {
    /// Every kind, in the order the security record's filter offers them.
    pub const ALL: [SecurityEventKind; 15] = [
        SecurityEventKind::SignIn,
        SecurityEventKind::SignInFailed,
        SecurityEventKind::SignInThrottled,
        SecurityEventKind::SignOut,
        SecurityEventKind::SessionRevoked,
        SecurityEventKind::InvitationCreated,
        SecurityEventKind::PasswordSet,
        SecurityEventKind::PasswordChanged,
        SecurityEventKind::UserDisabled,
        SecurityEventKind::ApiKeyCreated,
        SecurityEventKind::ApiKeyRevoked,
        SecurityEventKind::CredentialRefused,
        SecurityEventKind::ProposalCreated,
        SecurityEventKind::ProposalApproved,
        SecurityEventKind::ProposalRejected,
    ];

    /// Its name on record and in the API (`sign_in_failed`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            SecurityEventKind::SignIn => "sign_in",
            SecurityEventKind::SignInFailed => "sign_in_failed",
            SecurityEventKind::SignInThrottled => "sign_in_throttled",
            SecurityEventKind::SignOut => "sign_out",
            SecurityEventKind::SessionRevoked => "session_revoked",
            SecurityEventKind::InvitationCreated => "invitation_created",
            SecurityEventKind::PasswordSet => "password_set",
            SecurityEventKind::PasswordChanged => "password_changed",
            SecurityEventKind::UserDisabled => "user_disabled",
            SecurityEventKind::ApiKeyCreated => "api_key_created",
            SecurityEventKind::ApiKeyRevoked => "api_key_revoked",
            SecurityEventKind::CredentialRefused => "credential_refused",
            SecurityEventKind::ProposalCreated => "proposal_created",
            SecurityEventKind::ProposalApproved => "proposal_approved",
            SecurityEventKind::ProposalRejected => "proposal_rejected",
        }
    }

    /// The kind named `name`, if it is one.
    pub fn parse(name: &str) -> Option<SecurityEventKind> {
        SecurityEventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// Filters of the security record.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SecurityEventQuery {
    /// Only events of this kind (`sign_in_failed`, `api_key_revoked`, ...).
    pub kind: Option<String>,
    pub user_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// `oldest_first` (default) or `newest_first`.
    pub order: Option<ListOrder>,
}

/// A security event.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityEventView {
    pub id: Uuid,
    pub at: String,
    pub kind: String,
    pub organisation_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    /// Who acted: a user's email, a key's prefix, a token's subject, or the email tried.
    pub subject: String,
    pub client: Option<String>,
    /// Non-secret details.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl SecurityEventView {
    fn of(row: SecurityEventRow) -> SecurityEventView {
        SecurityEventView {
            id: row.id,
            at: time(row.at),
            kind: row.kind,
            organisation_id: row.organisation_id,
            user_id: row.user_id,
            subject: row.subject,
            client: row.client,
            detail: serde_json::from_str(&row.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// The security record, oldest first.
#[derive(Debug)]
pub struct ListSecurityEvents(pub SecurityEventQuery);

impl Query for ListSecurityEvents {
    const OPERATION: Operation = Operation::ReadSecurityEvents;
    type Output = Page<SecurityEventView>;

    async fn read(self, app: &App, _caller: &Caller) -> Result<Page<SecurityEventView>, AppError> {
        let query = self.0;
        let (limit, seek) = PageQuery {
            limit: query.limit,
            cursor: query.cursor,
        }
        .seek(query.order)?;
        let filter = SecurityEventFilter {
            kind: query.kind,
            user_id: query.user_id,
            organisation_id: query.organisation_id,
        };
        let rows = app.store.security_events(&filter, seek, limit + 1).await?;
        Ok(page(rows, limit, |row| row.id, SecurityEventView::of))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_name() {
        // Proves the names are distinct and read back as their kind.
        for kind in SecurityEventKind::ALL {
            assert_eq!(SecurityEventKind::parse(kind.as_str()), Some(kind));
        }
        let names: std::collections::BTreeSet<&str> = SecurityEventKind::ALL
            .iter()
            .map(|kind| kind.as_str())
            .collect();
        assert_eq!(names.len(), SecurityEventKind::ALL.len());
        assert_eq!(SecurityEventKind::parse("sign_in_failed "), None);
    }
}
