//! Bank accounts of beneficiaries and of the network's own collection account. A new account is
//! the classic fraud path, so setting one is a four-eyes operation ([`crate::approvals`]): it is
//! a proposal until a second admin approves it, and only then recorded and in force. A transfer is
//! paid to the account in force when its run was planned, whatever changed since; the two reads a
//! payment file (pain.001) needs are [`TransferCreditor`] and [`NetworkCollectionAccount`].

use chrono::{DateTime, Utc};
use ledger_core::OrganisationId;
use ledger_core::bank::{AccountIdentifier, BankAccount, BankAccountInput};
use ledger_core::organisation::{Organisation, OrganisationKind};
use ledger_store::WriteRequest;
use ledger_store::records::{BankAccountRecord, Record};
use ledger_store::versions::BankAccountRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{AppError, FieldError};
use crate::fields::parse_id;
use crate::money::Money;
use crate::policy::Operation;
use crate::runner::{Command, Planned, Query, Status};
use crate::transfers::listing::visible_transfer;
use crate::{App, Caller};

/// The network organisation, seeded by migration 0002: its bank account is the fund's
/// collection account.
pub const NETWORK_ORGANISATION: Uuid = Uuid::from_u128(1);

/// A bank account as given: an IBAN, or a national account number with the bank's BIC.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccountBody {
    /// The holder's name as the bank knows it (at most 140 characters).
    pub holder_name: String,
    /// The IBAN (spaces allowed); checksum and the country's format are checked.
    pub iban: Option<String>,
    /// Where the country has no IBAN: the national account number (then `bic` is required).
    pub account_number: Option<String>,
    /// The bank's BIC, 8 or 11 characters.
    pub bic: Option<String>,
    /// ISO 4217 currency of the account.
    pub currency: String,
}

/// A recorded bank account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BankAccountView {
    pub organisation_id: Uuid,
    /// 1, 2, ...: the order accounts were recorded.
    pub version: i32,
    pub holder_name: String,
    pub iban: Option<String>,
    pub account_number: Option<String>,
    pub bic: Option<String>,
    pub currency: String,
    pub proposed_by: String,
    /// The second admin who approved it (`null` in a one-admin setup).
    pub approved_by: Option<String>,
    pub proposal_id: Option<Uuid>,
    /// In force from this moment until the next account.
    pub in_force_from: String,
}

fn time(at: DateTime<Utc>) -> String {
    ledger_core::Timestamp::from_datetime(at).to_canonical_string()
}

impl From<&BankAccountRow> for BankAccountView {
    fn from(row: &BankAccountRow) -> Self {
        BankAccountView {
            organisation_id: row.organisation_id,
            version: row.version_number,
            holder_name: row.holder_name.clone(),
            iban: row.iban.clone(),
            account_number: row.account_number.clone(),
            bic: row.bic.clone(),
            currency: row.currency.clone(),
            proposed_by: row.proposed_by.clone(),
            approved_by: row.approved_by.clone(),
            proposal_id: row.proposal_id,
            in_force_from: time(row.created_at),
        }
    }
}

/// A beneficiary or the network, by the id given in the path, if the caller may see it.
async fn account_holder(app: &App, caller: &Caller, id: &str) -> Result<Organisation, AppError> {
    let not_found = || AppError::not_found("no such beneficiary or network organisation");
    let id = OrganisationId::from_uuid(parse_id(id).ok_or_else(not_found)?);
    if !caller.may_see(id) {
        return Err(not_found());
    }
    let organisation = app.store.organisation(id).await?.ok_or_else(not_found)?;
    match organisation.kind {
        OrganisationKind::Beneficiary | OrganisationKind::Network => Ok(organisation),
        _ => Err(not_found()),
    }
}

/// Set the bank account of a beneficiary or of the network (admin; four eyes: a proposal until
/// another admin approves it). `organisation` is the id as given in the path.
#[derive(Debug)]
pub struct SetBankAccount {
    pub organisation: String,
    pub body: BankAccountBody,
}

impl Command for SetBankAccount {
    const OPERATION: Operation = Operation::SetBankAccount;
    type Output = BankAccountView;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<BankAccountView>, AppError> {
        let organisation = account_holder(app, caller, &self.organisation).await?;
        if organisation.id == OrganisationId::from_uuid(NETWORK_ORGANISATION) {
            // Batches' payment instructions read the network's account again from now on.
            app.collection_accounts.forget();
        }
        let body = &self.body;
        let account = BankAccount::parse(BankAccountInput {
            holder_name: &body.holder_name,
            iban: body.iban.as_deref(),
            account_number: body.account_number.as_deref(),
            bic: body.bic.as_deref(),
            currency: &body.currency,
        })
        .map_err(|problems| {
            AppError::validation(
                problems
                    .into_iter()
                    .map(|problem| FieldError::new(problem.field, problem.message))
                    .collect(),
            )
        })?;
        let previous = app.store.bank_accounts(organisation.id).await?;
        let version_number = previous
            .last()
            .map_or(1, |last| last.version_number.saturating_add(1));
        let (iban, account_number, bic) = match account.identifier {
            AccountIdentifier::Iban { iban, bic } => {
                (Some(iban), None, bic.map(|bic| bic.as_str().to_owned()))
            }
            AccountIdentifier::National {
                account_number,
                bic,
            } => (None, Some(account_number), Some(bic.as_str().to_owned())),
        };
        // Run because a second admin approved: the proposer and the approver are both recorded.
        let (proposed_by, approved_by, proposal_id) = match &app.approval {
            Some(approval) => (
                approval.proposed_by.clone(),
                Some(approval.approved_by.clone()),
                Some(approval.proposal_id),
            ),
            None => (caller.subject.clone(), None, None),
        };
        let now = app.sources.timestamp();
        let record = BankAccountRecord {
            organisation_id: organisation.id,
            version_number,
            holder_name: account.holder_name,
            iban,
            account_number,
            bic,
            currency: account.currency.code().to_owned(),
            proposed_by,
            approved_by,
            proposal_id,
            created_at: now,
        };
        let view = BankAccountView {
            organisation_id: organisation.id.as_uuid(),
            version: version_number,
            holder_name: record.holder_name.clone(),
            iban: record.iban.clone(),
            account_number: record.account_number.clone(),
            bic: record.bic.clone(),
            currency: record.currency.clone(),
            proposed_by: record.proposed_by.clone(),
            approved_by: record.approved_by.clone(),
            proposal_id,
            in_force_from: now.to_canonical_string(),
        };
        let write = WriteRequest {
            records: vec![Record::BankAccount(record)],
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, view, write))
    }
}

/// An organisation's bank accounts: the one in force and every earlier one.
#[derive(Debug, Serialize, ToSchema)]
pub struct BankAccountsView {
    pub organisation_id: Uuid,
    /// The account in force now (`null`: none recorded yet).
    pub current: Option<BankAccountView>,
    /// Every account, oldest first.
    pub accounts: Vec<BankAccountView>,
}

/// The bank accounts of a beneficiary (itself, the network, auditors) or of the network.
#[derive(Debug)]
pub struct ListBankAccounts(pub String);

impl Query for ListBankAccounts {
    const OPERATION: Operation = Operation::ReadBankAccounts;
    type Output = BankAccountsView;

    async fn read(self, app: &App, caller: &Caller) -> Result<BankAccountsView, AppError> {
        let organisation = account_holder(app, caller, &self.0).await?;
        let accounts: Vec<BankAccountView> = app
            .store
            .bank_accounts(organisation.id)
            .await?
            .iter()
            .map(BankAccountView::from)
            .collect();
        Ok(BankAccountsView {
            organisation_id: organisation.id.as_uuid(),
            current: accounts.last().cloned(),
            accounts,
        })
    }
}

/// An account as a payment file names it: holder, IBAN or national number and BIC, currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PaymentAccountView {
    pub holder_name: String,
    pub iban: Option<String>,
    pub account_number: Option<String>,
    pub bic: Option<String>,
    pub currency: String,
    /// Which of the organisation's accounts it is.
    pub version: i32,
}

impl From<&BankAccountRow> for PaymentAccountView {
    fn from(row: &BankAccountRow) -> Self {
        PaymentAccountView {
            holder_name: row.holder_name.clone(),
            iban: row.iban.clone(),
            account_number: row.account_number.clone(),
            bic: row.bic.clone(),
            currency: row.currency.clone(),
            version: row.version_number,
        }
    }
}

/// What a credit transfer instruction needs of a transfer: its end-to-end id and amount, and the
/// creditor's account as planned.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferCreditorView {
    pub transfer_id: Uuid,
    pub beneficiary_id: Uuid,
    /// At most 35 characters: ISO 20022's `EndToEndId`.
    pub end_to_end_id: String,
    pub amount: Money,
    /// When the transfer's run was planned: the account in force then is the creditor's.
    pub planned_at: String,
    /// `null` when the beneficiary had no bank account when the run was planned.
    pub creditor: Option<PaymentAccountView>,
}

/// The account in force at `moment` among an organisation's accounts in recorded order.
pub fn account_at(accounts: &[BankAccountRow], moment: DateTime<Utc>) -> Option<&BankAccountRow> {
    accounts
        .iter()
        .rev()
        .find(|account| account.created_at <= moment)
}

/// The creditor of a transfer as planned (admins and auditors; the pain.001 door's read): the
/// beneficiary's account in force when the transfer's run (for a top-up, its chain's first
/// transfer's run) was planned. `transfer` is the id as given in the path.
#[derive(Debug)]
pub struct TransferCreditor {
    pub transfer: String,
}

impl Query for TransferCreditor {
    const OPERATION: Operation = Operation::ReadPaymentDetails;
    type Output = TransferCreditorView;

    async fn read(self, app: &App, caller: &Caller) -> Result<TransferCreditorView, AppError> {
        let transfer = visible_transfer(app, caller, &self.transfer).await?;
        let root = if transfer.root_transfer_id == transfer.id {
            transfer.clone()
        } else {
            app.store
                .transfer(transfer.root_transfer_id)
                .await?
                .ok_or_else(|| AppError::internal_message("a top-up's first transfer is missing"))?
        };
        let planned_at = match root.run_id {
            Some(run) => {
                app.store
                    .transfer_run(run)
                    .await?
                    .ok_or_else(|| AppError::internal_message("a transfer's run is missing"))?
                    .created_at
            }
            None => root.created_at,
        };
        let accounts = app
            .store
            .bank_accounts(OrganisationId::from_uuid(transfer.beneficiary_id))
            .await?;
        let currency = ledger_core::Currency::from_code(&transfer.currency)
            .map_err(AppError::internal_message)?;
        Ok(TransferCreditorView {
            transfer_id: transfer.id,
            beneficiary_id: transfer.beneficiary_id,
            end_to_end_id: transfer.end_to_end_id.clone(),
            amount: ledger_core::Amount::from_minor(transfer.amount_minor, currency)
                .map_err(AppError::internal_message)?
                .into(),
            planned_at: time(planned_at),
            creditor: account_at(&accounts, planned_at).map(PaymentAccountView::from),
        })
    }
}

/// The network's own collection account in force now (admins and auditors; the pain.001 door's
/// debtor account); `null` when none is recorded.
#[derive(Debug)]
pub struct NetworkCollectionAccount;

impl Query for NetworkCollectionAccount {
    const OPERATION: Operation = Operation::ReadPaymentDetails;
    type Output = Option<PaymentAccountView>;

    async fn read(
        self,
        app: &App,
        _caller: &Caller,
    ) -> Result<Option<PaymentAccountView>, AppError> {
        let accounts = app
            .store
            .bank_accounts(OrganisationId::from_uuid(NETWORK_ORGANISATION))
            .await?;
        Ok(accounts.last().map(PaymentAccountView::from))
    }
}
