//! The network returns what is held for a beneficiary to the programme's pool, with a reason: the
//! next run shares it among all beneficiaries again (postings:
//! [`ledger_core::postings::settlement::held_funds_return`]).

use ledger_core::postings::settlement::{HeldFundsReturn, held_funds_return};
use ledger_core::{Amount, OrganisationId, chart};
use ledger_store::WriteRequest;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::AppError;
use crate::fields::{parse_id, reason_field};
use crate::money::Money;
use crate::policy::Operation;
use crate::runner::{Command, Planned, Status};
use crate::{App, Caller};

/// Why held funds go back to the pool.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnHeldFunds {
    pub reason: String,
}

/// What a return of held funds did.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldFundsReturnView {
    pub programme_id: Uuid,
    pub beneficiary_id: Uuid,
    pub returned: Money,
    pub reason: String,
    pub transaction_id: Uuid,
}

/// Return everything held for a beneficiary in a programme to the programme's pool (admin).
#[derive(Debug)]
pub struct ReturnHeld {
    /// As given in the path (an id that is not one answers 404).
    pub programme_id: String,
    pub beneficiary_id: String,
    pub body: ReturnHeldFunds,
}

impl Command for ReturnHeld {
    const OPERATION: Operation = Operation::ReturnHeldFunds;
    type Output = HeldFundsReturnView;

    async fn plan(
        self,
        app: &App,
        caller: &Caller,
    ) -> Result<Planned<HeldFundsReturnView>, AppError> {
        let programme = match parse_id(&self.programme_id) {
            Some(id) => app.store.programme(id).await?,
            None => None,
        }
        .ok_or_else(|| AppError::not_found("no such programme"))?;
        let beneficiary = match parse_id(&self.beneficiary_id) {
            Some(id) => {
                app.store
                    .organisation(OrganisationId::from_uuid(id))
                    .await?
            }
            None => None,
        }
        .ok_or_else(|| AppError::not_found("no such beneficiary"))?;
        let reason = reason_field(&self.body.reason)?;
        let currency = programme.currency;
        let held = chart::programme_held(programme.id, beneficiary.id, currency);
        // Net-asset accounts hold credit (negative) balances: what is held is its opposite.
        let balance = app.store.balance(held.id, None).await?;
        let amount = balance
            .checked_neg()
            .ok_or_else(|| AppError::internal_message("a held balance out of range"))
            .and_then(|minor| {
                Amount::from_minor(minor, currency).map_err(AppError::internal_message)
            })?;
        if !amount.is_positive() {
            return Err(AppError::conflict(
                "nothing_held",
                format!("nothing is held for {} in this programme", beneficiary.slug),
            ));
        }
        let header = app.sources.header(caller.actor());
        let transaction_id = header.id;
        let booked = held_funds_return(
            header,
            &HeldFundsReturn {
                programme_id: programme.id,
                beneficiary: beneficiary.id,
                beneficiary_slug: &beneficiary.slug,
                amount,
                reason: &reason,
            },
        )?;
        let view = HeldFundsReturnView {
            programme_id: programme.id,
            beneficiary_id: beneficiary.id.as_uuid(),
            returned: amount.into(),
            reason: reason.as_str().to_owned(),
            transaction_id: transaction_id.as_uuid(),
        };
        let write = WriteRequest {
            transactions: vec![booked.transaction],
            guards: booked.guards,
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, view, write).on_guard(|_, _| {
            AppError::conflict(
                "nothing_held",
                "the held funds moved meanwhile (a run released them); nothing was returned",
            )
        }))
    }
}

/// What is held for one beneficiary in one programme, and why (as of today).
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldFundsView {
    pub programme_id: Uuid,
    pub programme: String,
    pub beneficiary_id: Uuid,
    pub beneficiary: String,
    pub held: Money,
    /// The programme's conditions the beneficiary does not meet today (codes).
    pub failing_conditions: Vec<String>,
}

/// Programmes and beneficiaries read for [`ListHeldFunds`] (the network has far fewer).
const HELD_REGISTRY_LIMIT: u32 = 1000;

/// Every programme's funds held for a beneficiary that did not meet its conditions, with the
/// conditions it fails today (the network, auditors): what a return of held funds would move.
#[derive(Debug)]
pub struct ListHeldFunds;

impl crate::runner::Query for ListHeldFunds {
    const OPERATION: Operation = Operation::ReadHeldFunds;
    type Output = Vec<HeldFundsView>;

    async fn read(self, app: &App, _caller: &Caller) -> Result<Vec<HeldFundsView>, AppError> {
        let programmes = app.store.programmes(None, HELD_REGISTRY_LIMIT).await?;
        let beneficiaries = app.store.beneficiaries().await?;
        let mut accounts = Vec::new();
        for programme in &programmes {
            for beneficiary in &beneficiaries {
                accounts.push(
                    chart::programme_held(programme.id, beneficiary.id, programme.currency)
                        .id
                        .as_uuid(),
                );
            }
        }
        let balances = app.store.balances(&accounts).await?;
        let today = app.sources.today()?.naive();
        let mut held = Vec::new();
        for programme in &programmes {
            for beneficiary in &beneficiaries {
                let account =
                    chart::programme_held(programme.id, beneficiary.id, programme.currency);
                let minor = balances
                    .get(&account.id.as_uuid())
                    .copied()
                    .unwrap_or_default()
                    .checked_neg()
                    .ok_or_else(|| AppError::internal_message("a held balance out of range"))?;
                if minor <= 0 {
                    continue;
                }
                let eligibility =
                    crate::eligibility::eligibility_of(app, programme, beneficiary, today).await?;
                held.push(HeldFundsView {
                    programme_id: programme.id,
                    programme: programme.name.clone(),
                    beneficiary_id: beneficiary.id.as_uuid(),
                    beneficiary: beneficiary.name.clone(),
                    held: Money::from_minor(minor, programme.currency),
                    failing_conditions: eligibility
                        .failing()
                        .iter()
                        .map(|code| code.as_str().to_owned())
                        .collect(),
                });
            }
        }
        Ok(held)
    }
}
