//! Who runs an operation: a caller with one role, acting for one organisation. Every door (a
//! bearer token, a signed-in person, the demo) turns its credentials into a [`Caller`]; what the
//! caller may then do is decided by [`crate::policy`] alone.

use ledger_core::organisation::OrganisationKind;
use ledger_core::{Actor, OrganisationId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

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

    /// Whether a user of this role may create an API key of `key_role`: the same role, or a
    /// read-only auditor's key for the network's admins.
    pub fn may_delegate(&self, key_role: Role) -> bool {
        *self == key_role || (*self == Role::Admin && key_role == Role::Auditor)
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

    /// Whether an organisation of `kind` may hold this role: only the network runs the fund; the
    /// network or a registered auditor reads everything; contributors and beneficiaries act for
    /// themselves only. A credential whose role does not fit its organisation is refused, whoever
    /// issued it.
    pub fn fits(&self, kind: OrganisationKind) -> bool {
        matches!(
            (self, kind),
            (Role::Admin, OrganisationKind::Network)
                | (
                    Role::Auditor,
                    OrganisationKind::Network | OrganisationKind::Auditor
                )
                | (Role::Contributor, OrganisationKind::Contributor)
                | (Role::Beneficiary, OrganisationKind::Beneficiary)
        )
    }
}

/// How a caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Via {
    /// A signed token (minted by the `token` command, or an identity provider's): no user behind it
    /// in this service.
    #[default]
    Token,
    /// A signed-in user's access token.
    Session { user_id: Uuid, session_id: Uuid },
    /// An API key, created by a user.
    ApiKey {
        key_id: Uuid,
        created_by: Uuid,
        /// Whether the key was read from the database for this request. A key this instance
        /// knew already is not ([`crate::people::authenticate::KeyCheck::ByTheOperation`]): the
        /// operation checks it, inside a write's own transaction, or by a read before a query
        /// or an action.
        read_now: bool,
    },
}

/// The authenticated caller of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The person or key (a token's `sub`, a user's email, a key's prefix), recorded as the actor
    /// of what it writes.
    pub subject: String,
    pub organisation: OrganisationId,
    pub role: Role,
    pub via: Via,
}

impl Caller {
    /// A caller that proved itself with a signed token.
    pub fn with_token(subject: String, organisation: OrganisationId, role: Role) -> Caller {
        Caller {
            subject,
            organisation,
            role,
            via: Via::Token,
        }
    }

    /// The user behind the caller, when a signed-in user or one of its keys.
    pub fn user_id(&self) -> Option<Uuid> {
        match self.via {
            Via::Token => None,
            Via::Session { user_id, .. } => Some(user_id),
            Via::ApiKey { created_by, .. } => Some(created_by),
        }
    }

    /// Admins and auditors see every organisation's data.
    pub fn sees_everything(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Auditor)
    }

    /// Whether the caller may see what belongs to `organisation`: its own, or everything.
    pub fn may_see(&self, organisation: OrganisationId) -> bool {
        self.sees_everything() || self.organisation == organisation
    }

    /// The actor recorded on journal transactions.
    pub fn actor(&self) -> Actor {
        Actor {
            subject: self.subject.clone(),
            organisation: Some(self.organisation),
        }
    }
}
