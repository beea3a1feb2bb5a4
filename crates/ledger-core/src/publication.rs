//! Who is named on the public site. An organisation is named only when it agreed: a contributor
//! (a northern union or mutual) is not published until it chooses to be; a beneficiary (a member
//! mutual) is published unless it chose not to be, since the network's rules make the directory
//! of member mutuals public; the network and auditors have no public page. An organisation that is
//! not published is still counted in the fund's totals, never named.

use crate::organisation::OrganisationKind;

/// Whether an organisation of `kind` is named on the public site, given its latest choice
/// (`None`: it never chose).
pub fn is_published(kind: OrganisationKind, choice: Option<bool>) -> bool {
    match kind {
        OrganisationKind::Contributor => choice == Some(true),
        OrganisationKind::Beneficiary => choice != Some(false),
        OrganisationKind::Network | OrganisationKind::Auditor => false,
    }
}

/// Whether an organisation of `kind` may make a publication choice at all.
pub fn may_choose(kind: OrganisationKind) -> bool {
    matches!(
        kind,
        OrganisationKind::Contributor | OrganisationKind::Beneficiary
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contributors_are_private_until_they_choose_and_mutuals_public_until_they_refuse() {
        // Proves the default of each kind and that a choice overrides it.
        use OrganisationKind::*;
        assert!(!is_published(Contributor, None));
        assert!(is_published(Contributor, Some(true)));
        assert!(!is_published(Contributor, Some(false)));
        assert!(is_published(Beneficiary, None));
        assert!(!is_published(Beneficiary, Some(false)));
        assert!(!is_published(Network, Some(true)));
        assert!(!is_published(Auditor, None));
        assert!(!may_choose(Network));
        assert!(may_choose(Contributor));
    }
}
