//! IATI rules the schema cannot check, for [`super`]: organisation and activity identifiers (and
//! the form of a configured one), and recipient countries whose percentages add up to exactly 100.

use std::collections::BTreeMap;

use super::{IatiError, Party, TransferRecord};
use crate::journal::OrganisationId;
use crate::organisation::{Organisation, Programme};

/// The IATI identifier of an organisation: its registry identifier, or, for one registered
/// nowhere, a placeholder that says so (the IATI Registry would refuse it; the schema accepts it).
pub fn organisation_reference(organisation: &Organisation) -> String {
    organisation
        .registry_identifier
        .clone()
        .unwrap_or_else(|| format!("XX-UNREGISTERED-{}", organisation.slug))
}

/// The activity identifier of a programme: the network's identifier, then the programme's id.
pub fn activity_identifier(network: &Organisation, programme: &Programme) -> String {
    format!("{}-{}", organisation_reference(network), programme.id)
}

/// The longest organisation identifier accepted (IATI sets no bound; the Registry's are far
/// shorter): a bound on a configured value.
pub const MAX_ORGANISATION_IDENTIFIER_LENGTH: usize = 100;

/// An IATI organisation identifier as given (a setting, or a registry identifier): the
/// registration agency's prefix (two letters, a hyphen, then the agency's code, e.g. `FR-RNA`),
/// a hyphen and the number the agency gave (`FR-RNA-W751234567`, `XM-DAC-41114`). Only ASCII
/// letters, digits, `-`, `.` and `_`, as IATI's identifier guidance asks (no spaces, no `/`).
pub fn checked_organisation_identifier(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_ORGANISATION_IDENTIFIER_LENGTH {
        return Err(format!(
            "must be 1 to {MAX_ORGANISATION_IDENTIFIER_LENGTH} characters"
        ));
    }
    if !text
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_'))
    {
        return Err(format!(
            "{text:?} may hold only letters, digits, '-', '.' and '_'"
        ));
    }
    let mut parts = text.splitn(3, '-');
    let country = parts.next().unwrap_or_default();
    let agency = parts.next().unwrap_or_default();
    let number = parts.next().unwrap_or_default();
    if country.len() != 2
        || !country.bytes().all(|byte| byte.is_ascii_uppercase())
        || agency.is_empty()
        || number.is_empty()
    {
        return Err(format!(
            "{text:?} is not an IATI organisation identifier: an agency prefix such as FR-RNA, a hyphen, then the agency's number (FR-RNA-W751234567)"
        ));
    }
    Ok(text.to_owned())
}

/// The share of the activity's outgoing commitments (type 2) that went to each recipient
/// country, in percent with two decimals, summing to exactly 100.00 (IATI: several recipient
/// countries carry percentages that add up to 100). Shares are rounded down, then the hundredths
/// left over go to the largest remainders (ties: the first country in code order). Countries are
/// the beneficiaries' registered countries; no commitment yet, no country.
pub fn recipient_countries(
    transfers: &[TransferRecord],
    parties: &BTreeMap<OrganisationId, Party>,
) -> Result<Vec<(String, String)>, IatiError> {
    let mut per_country: BTreeMap<String, u128> = BTreeMap::new();
    for transfer in transfers {
        let party = parties
            .get(&transfer.beneficiary)
            .ok_or(IatiError::UnknownOrganisation(transfer.beneficiary))?;
        let minor = u128::try_from(transfer.amount.minor()).unwrap_or(0);
        let sum = per_country
            .entry(party.organisation.country.to_ascii_uppercase())
            .or_insert(0);
        *sum = sum.saturating_add(minor);
    }
    per_country.retain(|_, minor| *minor > 0);
    let total: u128 = per_country.values().sum();
    if total == 0 {
        return Ok(Vec::new());
    }
    const WHOLE: u128 = 10_000;
    let mut shares: Vec<(String, u128, u128)> = per_country
        .into_iter()
        .map(|(country, minor)| {
            let scaled = minor.saturating_mul(WHOLE);
            (country, scaled / total, scaled % total)
        })
        .collect();
    let given: u128 = shares.iter().map(|(_, share, _)| share).sum();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|left, right| shares[*right].2.cmp(&shares[*left].2).then(left.cmp(right)));
    for index in order
        .into_iter()
        .take(usize::try_from(WHOLE.saturating_sub(given)).unwrap_or(0))
    {
        shares[index].1 = shares[index].1.saturating_add(1);
    }
    Ok(shares
        .into_iter()
        .map(|(country, hundredths, _)| {
            (
                country,
                format!("{}.{:02}", hundredths / 100, hundredths % 100),
            )
        })
        .collect())
}
