//! Organisations and programmes: who takes part in the fund, and the rules a programme fixes
//! (rate per member, period, allocation policy, redistribution conditions, minimum transfer,
//! administration cap).

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::journal::OrganisationId;
use crate::money::{Amount, Currency};
use crate::period::PeriodKind;

/// The most characters of an organisation's or programme's name.
pub const MAX_NAME_LENGTH: usize = 200;
/// The most characters of a slug.
pub const MAX_SLUG_LENGTH: usize = 64;
/// The most characters of a registry identifier (IATI organisation identifiers are short).
pub const MAX_REGISTRY_IDENTIFIER_LENGTH: usize = 100;
/// The most conditions a programme may set: one per known code.
pub const MAX_CONDITIONS: usize = 16;

/// The role an organisation plays in the fund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    /// A northern union or mutual that collects the solidarity euro.
    Contributor,
    /// A southern health mutual that receives transfers.
    Beneficiary,
    /// The Education and Solidarity Network, which runs the fund.
    Network,
    /// An external auditor.
    Auditor,
}

impl OrganisationKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            OrganisationKind::Contributor => "contributor",
            OrganisationKind::Beneficiary => "beneficiary",
            OrganisationKind::Network => "network",
            OrganisationKind::Auditor => "auditor",
        }
    }

    pub fn parse(text: &str) -> Option<OrganisationKind> {
        Some(match text {
            "contributor" => OrganisationKind::Contributor,
            "beneficiary" => OrganisationKind::Beneficiary,
            "network" => OrganisationKind::Network,
            "auditor" => OrganisationKind::Auditor,
            _ => return None,
        })
    }
}

/// A short stable name: lower-case ASCII letters, digits and `-`, 2 to [`MAX_SLUG_LENGTH`]
/// characters, starting with a letter (so it can never be mistaken for a UUID).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(text: &str) -> Result<Slug, String> {
        let valid_characters = text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let starts_with_letter = text.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if text.len() < 2
            || text.len() > MAX_SLUG_LENGTH
            || !valid_characters
            || !starts_with_letter
        {
            return Err(format!(
                "must be 2 to {MAX_SLUG_LENGTH} characters of a-z, 0-9 and `-`, starting with a letter"
            ));
        }
        Ok(Slug(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl fmt::Debug for Slug {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}

/// Checks an ISO 3166-1 alpha-2 country code's form (two upper-case ASCII letters).
pub fn parse_country(text: &str) -> Result<String, String> {
    if text.len() == 2 && text.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(text.to_owned())
    } else {
        Err("must be an ISO 3166-1 alpha-2 code such as `FR` or `BF`".to_owned())
    }
}

/// Checks a display name (organisations, programmes): not blank, at most [`MAX_NAME_LENGTH`]
/// characters, no control character (`crate::text`).
pub fn parse_name(text: &str) -> Result<String, String> {
    crate::text::checked_text(text, MAX_NAME_LENGTH, crate::text::TextKind::Identifier)
        .map(str::to_owned)
        .map_err(|error| error.to_string())
}

/// An organisation taking part in the fund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    pub id: OrganisationId,
    pub slug: Slug,
    pub name: String,
    pub kind: OrganisationKind,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// The organisation's own currency (a beneficiary is paid in it).
    pub currency: Currency,
    /// Members the organisation covers, the weight of pro-rata allocation.
    pub covered_members: Option<u64>,
    /// IATI organisation identifier, such as `FR-RNA-W751234567`.
    pub registry_identifier: Option<String>,
}

/// How a programme splits its pool among eligible beneficiaries (after earmarks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum AllocationPolicy {
    /// In proportion to each beneficiary's covered members.
    ProRataCoveredMembers,
    /// By fixed weights per beneficiary.
    FixedWeights {
        weights: BTreeMap<OrganisationId, u64>,
    },
}

/// The redistribution conditions a programme can impose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionCode {
    MutualOperational,
    ContributionRatesDefined,
    LocalCofinancing,
    PublicCofinancing,
    ReportingUpToDate,
    AdminCostCap,
    Governance,
}

impl ConditionCode {
    /// Whether the condition needs a numeric parameter, and what it means.
    pub fn parameter_meaning(&self) -> Option<&'static str> {
        match self {
            ConditionCode::LocalCofinancing => {
                Some("minimum local member contributions, % of the transfer")
            }
            ConditionCode::PublicCofinancing => {
                Some("minimum public contribution, % of the transfer")
            }
            ConditionCode::ReportingUpToDate => {
                Some("days after which a transfer must be accounted for")
            }
            ConditionCode::AdminCostCap => Some("maximum administration share, %"),
            ConditionCode::Governance => Some("months since the last general assembly"),
            ConditionCode::MutualOperational | ConditionCode::ContributionRatesDefined => None,
        }
    }
}

/// A condition with its parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionRule {
    pub code: ConditionCode,
    /// Decimal string; required exactly when the code takes a parameter.
    pub parameter: Option<Decimal>,
}

/// A programme of the fund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Programme {
    pub id: uuid::Uuid,
    pub name: String,
    /// Always EUR today: the solidarity euro.
    pub currency: Currency,
    pub rate_per_member: Amount,
    pub period: PeriodKind,
    pub allocation: AllocationPolicy,
    pub conditions: Vec<ConditionRule>,
    pub minimum_transfer: Amount,
    pub admin_cost_cap_percent: Decimal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_short_lowercase_names() {
        // Proves the accepted and refused slug forms.
        assert!(Slug::parse("csq").is_ok());
        assert!(Slug::parse("mugef-ci").is_ok());
        for bad in ["", "a", "CSQ", "1abc", "with space", "é", &"a".repeat(65)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn countries_and_names_are_checked() {
        // Proves the form checks of country codes and names.
        assert_eq!(parse_country("BF").unwrap(), "BF");
        assert!(parse_country("bf").is_err());
        assert!(parse_country("BFA").is_err());
        assert_eq!(parse_name("  MGEN  ").unwrap(), "MGEN");
        assert!(parse_name("   ").is_err());
        // Proves a name carrying a terminal escape, a line break or a tab is refused.
        for bad in ["MGEN\u{1b}[2J", "MGEN\r\nX-Forged: 1", "MG\tEN", "MGEN\0"] {
            assert!(parse_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn allocation_policies_read_from_json() {
        // Proves the JSON forms of the allocation policies.
        let pro_rata: AllocationPolicy =
            serde_json::from_str(r#"{"policy": "pro_rata_covered_members"}"#).unwrap();
        assert_eq!(pro_rata, AllocationPolicy::ProRataCoveredMembers);
        let weights: AllocationPolicy = serde_json::from_str(
            r#"{"policy": "fixed_weights", "weights": {"00000000-0000-0000-0000-000000000001": 3}}"#,
        )
        .unwrap();
        assert!(
            matches!(weights, AllocationPolicy::FixedWeights { ref weights } if weights.len() == 1)
        );
        assert!(serde_json::from_str::<AllocationPolicy>(r#"{"policy": "lottery"}"#).is_err());
    }
}
