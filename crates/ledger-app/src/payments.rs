//! How a contributor pays a batch: into the network's collection account, quoting the batch's
//! ISO 11649 creditor reference (`RF..`, [`ledger_core::payment_reference`]), so the bank
//! statement's credit can be matched to the batch. Every batch view carries these instructions.
//!
//! Where the collection account comes from is said in ONE place, [`collection_account`]: the
//! network's own bank account recorded in the books (set under four eyes) when there is one, else
//! the deployment's configuration (`--collection-account-*`). Batches' payment instructions and
//! the payment file's debtor (pain.001) both read it there, so contributors pay into the account
//! the network pays out of.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use ledger_core::OrganisationId;
use ledger_core::payment_reference::{CreditorReference, checked_iban};
use ledger_core::text::{TextKind, checked_text};
use ledger_store::versions::BankAccountRow;
use serde::Serialize;
use utoipa::ToSchema;

use crate::App;
use crate::bank_accounts::NETWORK_ORGANISATION;
use crate::error::AppError;

/// The longest account holder name (ISO 20022's `Nm` of a party: 140 characters).
pub const MAX_HOLDER_NAME_LENGTH: usize = 140;

/// The bank account contributors pay batches into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CollectionAccount {
    /// The account holder's name, as the bank knows it.
    pub holder: String,
    /// IBAN, electronic form (no spaces); `null` for a recorded account known by a national
    /// number.
    pub iban: Option<String>,
    /// The national account number, for a recorded account without an IBAN.
    pub account_number: Option<String>,
    /// BIC of the bank (8 or 11 characters), when given.
    pub bic: Option<String>,
    /// ISO 4217 currency of the account (a configured account is in EUR).
    pub currency: String,
    /// Which of the network's recorded bank accounts it is (1, 2, ...); `null`: the account the
    /// deployment configured, used while none is recorded.
    pub recorded_version: Option<i32>,
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
            iban: Some(iban),
            account_number: None,
            bic,
            currency: "EUR".to_owned(),
            recorded_version: None,
        })
    }

    /// A bank account recorded for the network (checked when it was recorded).
    pub fn recorded(row: &BankAccountRow) -> CollectionAccount {
        CollectionAccount {
            holder: row.holder_name.clone(),
            iban: row.iban.clone(),
            account_number: row.account_number.clone(),
            bic: row.bic.clone(),
            currency: row.currency.clone(),
            recorded_version: Some(row.version_number),
        }
    }
}

/// The network's collection account, if one is known: THE rule every door reads it by. The
/// network's bank account recorded in the books (the last one approved) when there is one, else
/// the one the deployment configured.
pub async fn collection_account(app: &App) -> Result<Option<CollectionAccount>, AppError> {
    let recorded = recorded_collection_account(app).await?;
    Ok(recorded.or_else(|| app.collection_account.clone()))
}

/// The network's bank account recorded in the books (the last one approved), read now; this
/// instance keeps it for [`collection_account_for_batches`].
async fn recorded_collection_account(app: &App) -> Result<Option<CollectionAccount>, AppError> {
    let read_at = app.sources.now();
    let recorded = app
        .store
        .bank_accounts(OrganisationId::from_uuid(NETWORK_ORGANISATION))
        .await?
        .last()
        .map(CollectionAccount::recorded);
    app.collection_accounts.keep(read_at, recorded.clone());
    Ok(recorded)
}

/// How long an instance reuses the network's recorded account it read, for the payment
/// instructions of the batches it submits and shows (a read before every batch cost 10–23 % of
/// the batches per second). A change of that account is rare and approved under four eyes; the
/// instance that records it forgets what it kept at once ([`CollectionAccountCache::forget`]),
/// other instances show the new account within these seconds. The pain.001 file, the statement
/// import and the account's own view always read the books.
pub const COLLECTION_ACCOUNT_REUSE_SECONDS: i64 = 5;

/// When the network's recorded account was read, and what it was (none recorded: `None`).
type Kept = (DateTime<Utc>, Option<CollectionAccount>);

/// The network's recorded account as this instance last read it, and when.
#[derive(Debug, Clone, Default)]
pub struct CollectionAccountCache {
    kept: Arc<Mutex<Option<Kept>>>,
}

impl CollectionAccountCache {
    /// Forgets what was kept (the network's account is being changed).
    pub fn forget(&self) {
        *self.kept.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn fresh(&self, now: DateTime<Utc>) -> Option<Option<CollectionAccount>> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.as_ref().and_then(|(read_at, account)| {
            let age = now.signed_duration_since(*read_at).num_seconds();
            (0..COLLECTION_ACCOUNT_REUSE_SECONDS)
                .contains(&age)
                .then(|| account.clone())
        })
    }

    fn keep(&self, read_at: DateTime<Utc>, account: Option<CollectionAccount>) {
        *self.kept.lock().unwrap_or_else(PoisonError::into_inner) = Some((read_at, account));
    }
}

/// [`collection_account`] for a batch's payment instructions: the same rule, the recorded account
/// reused for up to [`COLLECTION_ACCOUNT_REUSE_SECONDS`] after this instance read it.
pub async fn collection_account_for_batches(
    app: &App,
) -> Result<Option<CollectionAccount>, AppError> {
    let recorded = match app.collection_accounts.fresh(app.sources.now()) {
        Some(recorded) => recorded,
        None => recorded_collection_account(app).await?,
    };
    Ok(recorded.or_else(|| app.collection_account.clone()))
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

/// The instructions for a batch with `creditor_reference` (as stored), into `collection_account`
/// (as [`collection_account`] answers it).
pub fn payment_instructions(
    collection_account: Option<&CollectionAccount>,
    creditor_reference: &CreditorReference,
) -> PaymentInstructions {
    PaymentInstructions {
        creditor_reference: creditor_reference.as_str().to_owned(),
        creditor_reference_printed: creditor_reference.printed(),
        collection_account: collection_account.cloned(),
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
        assert_eq!(account.iban.as_deref(), Some("FR7630006000011234567890189"));
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
