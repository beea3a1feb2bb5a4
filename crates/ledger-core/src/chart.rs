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

/// Money given by the network or sponsors to pay every bank fee and shortfall, so the pool never
/// does: available part.
pub fn fee_coverage(currency: Currency) -> Account {
    account(
        format!("fee_coverage:{}", currency.code().to_ascii_lowercase()),
        format!("Fee coverage, available ({currency})"),
        AccountKind::NetAssets,
        currency,
        None,
    )
}

/// Fee coverage reserved for the expected fees of transfers not yet settled.
pub fn fee_coverage_reserved(currency: Currency) -> Account {
    account(
        format!(
            "fee_coverage:reserved:{}",
            currency.code().to_ascii_lowercase()
        ),
        format!("Fee coverage, reserved for pending transfers ({currency})"),
        AccountKind::NetAssets,
        currency,
        None,
    )
}

/// A programme's money held for an ineligible beneficiary until it meets the conditions.
pub fn programme_held(
    programme_id: Uuid,
    beneficiary: OrganisationId,
    currency: Currency,
) -> Account {
    account(
        format!("programme:{programme_id}:held:{beneficiary}"),
        "Held for a beneficiary that does not meet the conditions".to_owned(),
        AccountKind::NetAssets,
        currency,
        Some(beneficiary),
    )
}

/// One transfer's money: allocated and sent, not yet confirmed by its beneficiary.
pub fn transfer_in_transit(
    transfer_id: Uuid,
    beneficiary: OrganisationId,
    currency: Currency,
) -> Account {
    account(
        format!("transfer:{transfer_id}:in_transit"),
        "Transfer in transit".to_owned(),
        AccountKind::NetAssets,
        currency,
        Some(beneficiary),
    )
}

/// What a beneficiary has received, in its own currency, and not yet accounted for by accepted
/// redistribution reports: its advance.
pub fn beneficiary_advance(beneficiary: OrganisationId, currency: Currency) -> Account {
    account(
        format!(
            "beneficiary:{beneficiary}:advance:{}",
            currency.code().to_ascii_lowercase()
        ),
        format!("Advance received by the beneficiary ({currency})"),
        AccountKind::NetAssets,
        currency,
        Some(beneficiary),
    )
}

/// The currency-trading account of `currency`: local money that reached beneficiaries against euros
/// that left the fund (each currency's side of a conversion balances on its own).
pub fn fx_conversion(currency: Currency) -> Account {
    account(
        format!("fx:conversion:{}", currency.code().to_ascii_lowercase()),
        format!("Currency conversion ({currency})"),
        AccountKind::Asset,
        currency,
        None,
    )
}

/// What a beneficiary has accounted for, by purpose, in its own currency (accepted reports): the
/// advance's counterpart, so advance + redistributed is everything it received.
pub fn beneficiary_redistributed(
    beneficiary: OrganisationId,
    purpose: &str,
    currency: Currency,
) -> Account {
    account(
        format!(
            "beneficiary:{beneficiary}:redistributed:{purpose}:{}",
            currency.code().to_ascii_lowercase()
        ),
        format!("Redistributed: {purpose} ({currency})"),
        AccountKind::NetAssets,
        currency,
        Some(beneficiary),
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
