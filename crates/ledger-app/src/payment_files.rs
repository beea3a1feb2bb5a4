//! The payment file of an executed transfer run: ISO 20022 `pain.001.001.09`, for the network's
//! bank (`ledger_core::pain001` writes it). Each transfer is paid to its beneficiary's approved
//! bank account and from the network's collection account, both read through ONE function each
//! ([`approved_bank_accounts`], [`collection_account`]); without them the file is refused with a
//! 409 naming who lacks an account, never half-made.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ledger_core::pain001::{
    AccountNumber, BankAccount, Bic, CreditTransfer, Iban, PaymentFile, PaymentFileError,
    build_pain001,
};
use ledger_core::{Amount, Currency, OrganisationId, Timestamp};
use ledger_store::Seek;
use ledger_store::transfers::{TransferFilter, TransferRow};
use ledger_store::versions::BankAccountRow;
use uuid::Uuid;

use crate::bank_accounts::account_at;
use crate::error::{AppError, FieldError};
use crate::fields::parse_id;
use crate::policy::Operation;
use crate::runner::Query;
use crate::{App, Caller};

/// Transfers read per page while a run's transfers are gathered.
const TRANSFER_PAGE: u32 = 1_000;

/// A run's payment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFileView {
    /// `pain.001-<run id>.xml`.
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// The bank account each beneficiary is paid to for a run planned at `planned_at`: the one in
/// force then (recorded only once a second admin approved it, `crate::bank_accounts`), so a
/// change approved after planning is not used for that run. The one place the payment file reads
/// creditors from; beneficiaries missing from the answer had no account then.
pub async fn approved_bank_accounts(
    app: &App,
    beneficiaries: &[OrganisationId],
    planned_at: DateTime<Utc>,
) -> Result<BTreeMap<OrganisationId, BankAccount>, AppError> {
    let mut found = BTreeMap::new();
    for beneficiary in beneficiaries {
        let accounts = app.store.bank_accounts(*beneficiary).await?;
        if let Some(row) = account_at(&accounts, planned_at) {
            found.insert(*beneficiary, payment_account(row)?);
        }
    }
    Ok(found)
}

/// The network's account that pays the transfers, by the one rule of
/// [`crate::payments::collection_account`] (the account recorded in the books for the network,
/// under four eyes, else the collection account the deployment configured): the account batches
/// are paid into.
pub async fn collection_account(app: &App) -> Result<Option<BankAccount>, AppError> {
    let Some(account) = crate::payments::collection_account(app).await? else {
        return Ok(None);
    };
    let number = match (&account.iban, &account.account_number) {
        (Some(iban), _) => {
            AccountNumber::Iban(Iban::parse(iban).map_err(AppError::internal_message)?)
        }
        (None, Some(number)) => AccountNumber::Other(number.clone()),
        (None, None) => return Err(AppError::internal_message("a bank account has no number")),
    };
    Ok(Some(BankAccount {
        holder_name: account.holder.clone(),
        number,
        bic: account
            .bic
            .as_deref()
            .map(Bic::parse)
            .transpose()
            .map_err(AppError::internal_message)?,
        currency: Currency::from_code(&account.currency).map_err(AppError::internal_message)?,
    }))
}

/// A recorded bank account as the payment file names it (its IBAN and BIC were checked when it
/// was recorded: a failure here is a defect).
fn payment_account(row: &BankAccountRow) -> Result<BankAccount, AppError> {
    let number = match (&row.iban, &row.account_number) {
        (Some(iban), _) => {
            AccountNumber::Iban(Iban::parse(iban).map_err(AppError::internal_message)?)
        }
        (None, Some(number)) => AccountNumber::Other(number.clone()),
        (None, None) => return Err(AppError::internal_message("a bank account has no number")),
    };
    Ok(BankAccount {
        holder_name: row.holder_name.clone(),
        number,
        bic: row
            .bic
            .as_deref()
            .map(Bic::parse)
            .transpose()
            .map_err(AppError::internal_message)?,
        currency: Currency::from_code(&row.currency).map_err(AppError::internal_message)?,
    })
}

/// The payment file of an executed run (admin, auditor): `404` for no such run, `409` when it is
/// not executed, or a beneficiary has no approved bank account, or the network no collection
/// account.
#[derive(Debug)]
pub struct GetPaymentFile {
    /// The run's id as given.
    pub run_id: String,
}

impl Query for GetPaymentFile {
    const OPERATION: Operation = Operation::ReadPaymentFile;
    type Output = PaymentFileView;

    async fn read(self, app: &App, _caller: &Caller) -> Result<PaymentFileView, AppError> {
        let not_found = || AppError::not_found("no such transfer run");
        let run_id = parse_id(&self.run_id).ok_or_else(not_found)?;
        let run = app
            .store
            .transfer_run(run_id)
            .await?
            .ok_or_else(not_found)?;
        if run.execution_transaction_id.is_none() {
            return Err(AppError::conflict(
                "run_not_executed",
                "the transfer run is not executed: a payment file instructs executed transfers only",
            ));
        }
        let transfers = run_transfers(app, run_id).await?;
        let mut beneficiaries: Vec<OrganisationId> = transfers
            .iter()
            .map(|transfer| OrganisationId::from_uuid(transfer.beneficiary_id))
            .collect();
        beneficiaries.sort();
        beneficiaries.dedup();
        let accounts = approved_bank_accounts(app, &beneficiaries, run.created_at).await?;
        let mut missing = Vec::new();
        for beneficiary in &beneficiaries {
            if !accounts.contains_key(beneficiary) {
                let name = app
                    .store
                    .organisation(*beneficiary)
                    .await?
                    .map_or_else(|| beneficiary.to_string(), |found| found.slug.to_string());
                missing.push(name);
            }
        }
        if !missing.is_empty() {
            return Err(AppError {
                errors: missing
                    .iter()
                    .map(|slug| {
                        FieldError::new(format!("beneficiaries.{slug}"), "no approved bank account")
                    })
                    .collect(),
                ..AppError::conflict(
                    "bank_account_missing",
                    format!(
                        "no approved bank account for {}: the payment file cannot be made",
                        missing.join(", ")
                    ),
                )
            });
        }
        let debtor = collection_account(app).await?.ok_or_else(|| {
            AppError::conflict(
                "collection_account_missing",
                "the network's collection account is not configured: the payment file cannot be made",
            )
        })?;
        let programme = app.store.programme(run.programme_id).await?;
        let remittance = programme.map(|programme| {
            format!("{} {}", programme.name, run.period)
                .chars()
                .take(ledger_core::pain001::MAX_NAME_CHARS)
                .collect::<String>()
        });
        let network = app.store.organisation_by_slug("network").await?;
        let initiating_party =
            network.map_or_else(|| debtor.holder_name.clone(), |network| network.name);
        let bytes = payment_file(
            run_id,
            &transfers,
            &accounts,
            debtor,
            initiating_party,
            remittance,
        )?;
        Ok(PaymentFileView {
            file_name: format!("pain.001-{run_id}.xml"),
            bytes,
        })
    }
}

/// The transfers a run's execution sent, in id order. Top-ups sent later for a shortfall carry the
/// run's id too but are not in its file: the file of a run never changes once made (a second file
/// with the same message id and more transfers would make the bank pay the first ones twice).
pub async fn run_transfers(app: &App, run_id: Uuid) -> Result<Vec<TransferRow>, AppError> {
    let filter = TransferFilter {
        run_id: Some(run_id),
        ..TransferFilter::default()
    };
    let mut transfers = Vec::new();
    let mut after = None;
    loop {
        let page = app
            .store
            .transfers(&filter, Seek::After(after), TRANSFER_PAGE)
            .await?;
        let full = page.len() == TRANSFER_PAGE as usize;
        after = page.last().map(|transfer| transfer.id);
        transfers.extend(
            page.into_iter()
                .filter(|transfer| transfer.kind == "transfer"),
        );
        if !full {
            return Ok(transfers);
        }
    }
}

/// The payment file of a run's transfers with the accounts given: the message id is the run's id,
/// its time the execution's, so the same run gives the same bytes.
pub fn payment_file(
    run_id: Uuid,
    transfers: &[TransferRow],
    accounts: &BTreeMap<OrganisationId, BankAccount>,
    debtor: BankAccount,
    initiating_party: String,
    remittance: Option<String>,
) -> Result<Vec<u8>, AppError> {
    let created_at = transfers
        .iter()
        .map(|transfer| transfer.created_at)
        .min()
        .map(Timestamp::from_datetime)
        .ok_or_else(|| AppError::conflict("run_without_transfers", "the run sent no transfer"))?;
    let mut credit_transfers = Vec::with_capacity(transfers.len());
    for transfer in transfers {
        let beneficiary = OrganisationId::from_uuid(transfer.beneficiary_id);
        let creditor = accounts.get(&beneficiary).cloned().ok_or_else(|| {
            AppError::conflict(
                "bank_account_missing",
                format!("no approved bank account for the beneficiary {beneficiary}"),
            )
        })?;
        let currency = Currency::from_code(&transfer.currency).map_err(AppError::internal)?;
        credit_transfers.push(CreditTransfer {
            end_to_end_id: transfer.end_to_end_id.clone(),
            amount: Amount::from_minor(transfer.amount_minor, currency)
                .map_err(AppError::internal)?,
            execution_date: transfer.created_at.date_naive(),
            creditor,
            remittance: remittance.clone(),
        });
    }
    let file = PaymentFile {
        message_id: run_id.simple().to_string(),
        created_at,
        initiating_party,
        debtor,
        transfers: credit_transfers,
    };
    build_pain001(&file).map_err(|error| match error {
        PaymentFileError::Invalid(ref problems) => AppError {
            errors: problems
                .iter()
                .map(|problem| FieldError::new(problem.field.clone(), problem.message.clone()))
                .collect(),
            ..AppError::conflict(
                "payment_file_invalid",
                format!("the books' bank details do not make a valid payment file: {error}"),
            )
        },
        other => AppError::internal(other),
    })
}
