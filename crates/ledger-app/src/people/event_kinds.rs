//! The kinds of security events, in a module of their own: every module that records an event
//! names its kind, and none of them may depend on the reading of the record (`events`).

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
