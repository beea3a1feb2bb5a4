//! The fund's chart of accounts (documented in `docs/accounts.md`). Account ids derive from their
//! codes (UUIDv5), so every instance and every request names the same account the same way, and
//! opening an account twice is harmless.

use uuid::Uuid;

use crate::journal::{Account, AccountCode, AccountId, AccountKind, OrganisationId};
use crate::money::Currency;

/// The namespace of account ids derived from codes.
const ACCOUNT_NAMESPACE: Uuid = Uuid::from_u128(0x5f1d_2c3a_9b7e_4e51_8a0c_61d3_e2b4_0a17);

/// The id of the account with `code`.
pub fn account_id_for_code(code: &str) -> AccountId {
    AccountId::from_uuid(Uuid::new_v5(&ACCOUNT_NAMESPACE, code.as_bytes()))
}

fn account(
    code: String,
    name: String,
    kind: AccountKind,
    currency: Currency,
    owner: Option<OrganisationId>,
) -> Account {
    Account {
        id: account_id_for_code(&code),
        // Codes built here only use the allowed alphabet (fixed words, UUIDs and currency codes).
        code: AccountCode::parse(&code).unwrap_or_else(|_| AccountCode::fallback()),
        name,
        kind,
        currency,
        owner_organisation: owner,
    }
}

/// The network's bank account for the fund in `currency`: where contributions arrive and from
/// where transfers leave.
pub fn fund_bank(currency: Currency) -> Account {
    account(
        format!("fund:bank:{}", currency.code().to_ascii_lowercase()),
        format!("Fund bank account ({currency})"),
        AccountKind::Asset,
        currency,
        None,
    )
}

/// Pledged contributions not yet received, for a programme.
pub fn programme_pledged(programme_id: Uuid, currency: Currency) -> Account {
    account(
        format!("programme:{programme_id}:pledged"),
        "Pledged, awaiting receipt".to_owned(),
        AccountKind::NetAssets,
        currency,
        None,
    )
}

/// Received, unrestricted money of a programme not yet allocated: the pool.
pub fn programme_pool(programme_id: Uuid, currency: Currency) -> Account {
    account(
        format!("programme:{programme_id}:pool"),
        "Pool: received, not yet allocated".to_owned(),
        AccountKind::NetAssets,
        currency,
        None,
    )
}

/// Received money restricted to one beneficiary (earmarked batches).
pub fn programme_earmarked(
    programme_id: Uuid,
    beneficiary: OrganisationId,
    currency: Currency,
) -> Account {
    account(
        format!("programme:{programme_id}:earmarked:{beneficiary}"),
        "Earmarked for one beneficiary".to_owned(),
        AccountKind::NetAssets,
        currency,
        Some(beneficiary),
    )
}

/// What is still due on one contribution batch: its own receivable, owned by the contributor.
pub fn batch_receivable(
    batch_id: Uuid,
    contributor: OrganisationId,
    currency: Currency,
) -> Account {
    account(
        format!("batch:{batch_id}:receivable"),
        "Contribution batch receivable".to_owned(),
        AccountKind::Asset,
        currency,
        Some(contributor),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_derived_from_codes() {
        // Proves two instances compute the same account for the same code, and codes are valid.
        let programme = Uuid::from_u128(42);
        assert_eq!(
            programme_pool(programme, Currency::eur()),
            programme_pool(programme, Currency::eur())
        );
        assert_ne!(
            programme_pool(programme, Currency::eur()).id,
            programme_pledged(programme, Currency::eur()).id
        );
        assert_eq!(fund_bank(Currency::eur()).code.as_str(), "fund:bank:eur");
        let receivable = batch_receivable(
            programme,
            OrganisationId::from_uuid(Uuid::from_u128(7)),
            Currency::eur(),
        );
        assert_eq!(
            receivable.code.as_str(),
            format!("batch:{programme}:receivable")
        );
        assert_eq!(receivable.id, account_id_for_code(receivable.code.as_str()));
    }
}
