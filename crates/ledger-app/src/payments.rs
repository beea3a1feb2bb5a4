//! How a contributor pays a batch: into the network's collection account, quoting the batch's
//! ISO 11649 creditor reference (`RF..`, [`ledger_core::payment_reference`]), so the bank
//! statement's credit can be matched to the batch. Every batch view carries these instructions.
//!
//! Where the collection account comes from is said in ONE place, [`collection_account`]: today
//! the deployment's configuration (`--collection-account-*`); it is the function to rewire when
//! the network's own bank account is kept in the books.

use ledger_core::payment_reference::{CreditorReference, checked_iban};
use ledger_core::text::{TextKind, checked_text};
use serde::Serialize;
use utoipa::ToSchema;

use crate::App;

/// The longest account holder name (ISO 20022's `Nm` of a party: 140 characters).
pub const MAX_HOLDER_NAME_LENGTH: usize = 140;

/// The bank account contributors pay batches into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CollectionAccount {
    /// The account holder's name, as the bank knows it.
    pub holder: String,
    /// IBAN, electronic form (no spaces).
    pub iban: String,
    /// BIC of the bank (8 or 11 characters), when given.
    pub bic: Option<String>,
}

impl CollectionAccount {
    /// Checks a configured account: a holder name (1 to 140 characters, no control character), a
    /// valid IBAN (check digits), and an optional BIC of 8 or 11 letters and digits.
    pub fn new(holder: &str, iban: &str, bic: Option<&str>) -> Result<CollectionAccount, String> {
        let holder = checked_text(holder, MAX_HOLDER_NAME_LENGTH, TextKind::Identifier)
            .map_err(|error| format!("the collection account's holder {error}"))?;
        let iban =
            checked_iban(iban).map_err(|error| format!("the collection account's IBAN {error}"))?;
        let bic = bic
            .map(|bic| {
                let bic = bic.trim().to_ascii_uppercase();
                if matches!(bic.len(), 8 | 11)
                    && bic.bytes().all(|byte| byte.is_ascii_alphanumeric())
                {
                    Ok(bic)
                } else {
                    Err(format!(
                        "the collection account's BIC {bic:?} is not 8 or 11 letters and digits"
                    ))
                }
            })
            .transpose()?;
        Ok(CollectionAccount {
            holder: holder.to_owned(),
            iban,
            bic,
        })
    }
}

/// The network's collection account, if one is known: THE source every door reads it from.
pub fn collection_account(app: &App) -> Option<CollectionAccount> {
    app.collection_account.clone()
}

/// How to pay a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PaymentInstructions {
    /// The ISO 11649 creditor reference to quote as the transfer's structured reference,
    /// electronic form (`RF18539007547034`).
    pub creditor_reference: String,
    /// The same, printed in groups of four (`RF18 5390 0754 7034`).
    pub creditor_reference_printed: String,
    /// Where to pay; `null` while the deployment has not configured it.
    pub collection_account: Option<CollectionAccount>,
}

/// The instructions for a batch with `creditor_reference` (as stored), with the collection account
/// of `app`.
pub fn payment_instructions(
    app: &App,
    creditor_reference: &CreditorReference,
) -> PaymentInstructions {
    PaymentInstructions {
        creditor_reference: creditor_reference.as_str().to_owned(),
        creditor_reference_printed: creditor_reference.printed(),
        collection_account: collection_account(app),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collection_account_is_checked() {
        // Proves a configured account is kept in electronic form, and a wrong IBAN, a malformed
        // BIC or an empty holder are refused with what is wrong.
        let account = CollectionAccount::new(
            " Réseau Éducation et Solidarité ",
            "FR76 3000 6000 0112 3456 7890 189",
            Some("agrifrpp"),
        )
        .unwrap();
        assert_eq!(account.holder, "Réseau Éducation et Solidarité");
        assert_eq!(account.iban, "FR7630006000011234567890189");
        assert_eq!(account.bic.as_deref(), Some("AGRIFRPP"));
        assert!(
            CollectionAccount::new("ENS", "FR7630006000011234567890188", None)
                .unwrap_err()
                .contains("check digits")
        );
        assert!(
            CollectionAccount::new("ENS", "FR7630006000011234567890189", Some("AGRI"))
                .unwrap_err()
                .contains("BIC")
        );
        assert!(CollectionAccount::new(" ", "FR7630006000011234567890189", None).is_err());
    }
}
