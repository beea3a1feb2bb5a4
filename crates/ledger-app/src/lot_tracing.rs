//! Tracing: where a contributor's euros are — pledged, in the pool, earmarked, held (and why), in
//! transit, received by each beneficiary (EUR and local), redistributed by purpose — and which
//! contributors funded a beneficiary, for which periods. Lots are followed first in, first out
//! (`docs/tracing.md`); the totals reconcile with the contributor's receipts to the cent, which is
//! checked on every answer. The store keeps the lot book and applies only what is new per read.

use std::collections::BTreeMap;

use ledger_core::lots::{Holding, Place};
use ledger_core::organisation::{Organisation, OrganisationKind};
use ledger_core::{Currency, OrganisationId};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::checkpoints::{CheckpointView, checkpoint_before_read};
use crate::error::AppError;
use crate::fields::{parse_id, parse_period_filter};
use crate::money::Money;
use crate::policy::Operation;
use crate::runner::Query;
use crate::{App, Caller};

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::eur())
}

/// Local minor units, exact, shown rounded once to the currency's unit.
pub(crate) fn local(exact_minor: Decimal, currency: Currency) -> Money {
    let rounded = exact_minor.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    Money::from_minor(i64::try_from(rounded).unwrap_or(i64::MAX), currency)
}

/// Which batches to follow.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TracingQuery {
    /// Only the batches of this period (`2026-11`, `2026-Q4` or `2026`); all by default. A
    /// malformed period is a 422.
    pub period: Option<String>,
}

/// What was redistributed for one purpose.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurposeView {
    pub purpose: String,
    pub eur: Money,
    pub local: Money,
}

/// A contributor's money with or for one beneficiary.
#[derive(Debug, Serialize, ToSchema)]
pub struct BeneficiaryShareView {
    pub beneficiary_id: Uuid,
    pub beneficiary: String,
    pub earmarked: Money,
    pub held: Money,
    /// The conditions that failed when the share was last held.
    pub held_because: Vec<String>,
    pub in_transit: Money,
    /// Confirmed received and not yet accounted for by a report.
    pub received: Money,
    pub received_local: Money,
    pub redistributed: Vec<PurposeView>,
}

/// Where a contributor's euros are.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContributorTracingView {
    pub contributor_id: Uuid,
    pub period: Option<String>,
    /// Pledged and not yet received (all periods' batches, or the period's).
    pub pledged_outstanding: Money,
    /// Everything received from this contributor: the sum of the lines below, to the cent.
    pub received_total: Money,
    pub in_pool: Money,
    pub earmarked: Money,
    pub held: Money,
    pub in_transit: Money,
    pub with_beneficiaries: Money,
    pub redistributed: Money,
    pub refunded: Money,
    pub beneficiaries: Vec<BeneficiaryShareView>,
    /// Receipts this contributor sent in another currency: what was sent, the bank's rate and the
    /// EUR credited (which is what the lines above count). Absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub received_in_other_currencies: Vec<OriginalReceiptView>,
    /// The latest signed checkpoint when this was read (`null` before the first): everything up to
    /// its sequence is counted here (later transactions may be too).
    pub checkpoint: Option<CheckpointView>,
}

/// A receipt sent in another currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct OriginalReceiptView {
    pub batch_id: Uuid,
    pub value_date: String,
    /// What was credited (counts).
    pub credited: Money,
    /// What was sent, and the bank's rate (units sent per unit credited).
    pub sent: Money,
    pub rate: String,
}

#[derive(Default)]
struct ShareSums {
    earmarked: i64,
    held: i64,
    in_transit: i64,
    received: Holding,
    redistributed: BTreeMap<String, Holding>,
}

/// The organisation whose money is traced, if the caller may trace it: the organisation itself
/// (in the role of its kind), an admin or an auditor.
///
/// Organisations are listed to every authenticated role (`GET /v1/organisations`), so whether one
/// exists is no secret: an id that names no organisation of this kind is a `404`, and another
/// organisation's tracing is a `403` saying so, never a "no such" that the listing contradicts.
/// What the organisation's money does is the part never disclosed.
async fn traced_organisation(
    app: &App,
    caller: &Caller,
    id: &str,
    kind: OrganisationKind,
    kind_name: &str,
) -> Result<Organisation, AppError> {
    let not_found = || AppError::not_found(format!("no such {kind_name}"));
    let id = OrganisationId::from_uuid(parse_id(id).ok_or_else(not_found)?);
    let organisation = app
        .store
        .organisation(id)
        .await?
        .filter(|organisation| organisation.kind == kind)
        .ok_or_else(not_found)?;
    if !caller.may_see(id) {
        return Err(AppError::forbidden(format!(
            "a {kind_name} traces only its own money; this {kind_name} is another organisation"
        )));
    }
    Ok(organisation)
}

/// Where a contributor's euros are (the contributor itself; admin, auditor). Another
/// contributor's is a 403 (organisations are listed to everyone; their money is not).
#[derive(Debug)]
pub struct TraceContributor {
    /// The contributor's id as given (one that names no contributor: 404).
    pub id: String,
    pub query: TracingQuery,
}

impl Query for TraceContributor {
    const OPERATION: Operation = Operation::TraceContributor;
    type Output = ContributorTracingView;

    async fn read(self, app: &App, caller: &Caller) -> Result<ContributorTracingView, AppError> {
        trace_contributor(app, caller, &self.id, &self.query).await
    }
}

async fn trace_contributor(
    app: &App,
    caller: &Caller,
    id: &str,
    query: &TracingQuery,
) -> Result<ContributorTracingView, AppError> {
    let contributor = traced_organisation(
        app,
        caller,
        id,
        OrganisationKind::Contributor,
        "contributor",
    )
    .await?;
    let checkpoint = checkpoint_before_read(app).await?;
    let period = parse_period_filter(query.period.as_deref(), "period")?;
    let period = period.as_deref();
    let (places, received_total, reasons, pledged_outstanding) = app
        .store
        .with_lot_book(|view| {
            let book = view.book;
            let received_total: i64 = book
                .lots_of(contributor.id)
                .filter(|lot| period.is_none_or(|period| lot.period == period))
                .map(|lot| lot.amount_minor)
                .sum();
            (
                book.of_contributor(contributor.id, period),
                received_total,
                view.reasons.clone(),
                view.pledged_outstanding(contributor.id, period),
            )
        })
        .await?;
    let mut totals = [0_i64; 7];
    let mut shares: BTreeMap<OrganisationId, ShareSums> = BTreeMap::new();
    for (place, holding) in &places {
        let slot = match place {
            Place::Pool { .. } => 0,
            Place::Earmarked { .. } => 1,
            Place::Held { .. } => 2,
            Place::InTransit { .. } => 3,
            Place::Received { .. } => 4,
            Place::Redistributed { .. } => 5,
            Place::Refunded => 6,
        };
        totals[slot] += holding.eur_minor;
        let Some(beneficiary) = place.beneficiary() else {
            continue;
        };
        let share = shares.entry(beneficiary).or_default();
        match place {
            Place::Earmarked { .. } => share.earmarked += holding.eur_minor,
            Place::Held { .. } => share.held += holding.eur_minor,
            Place::InTransit { .. } => share.in_transit += holding.eur_minor,
            Place::Received { .. } => {
                share.received.eur_minor += holding.eur_minor;
                share.received.local_minor += holding.local_minor;
            }
            Place::Redistributed { purpose, .. } => {
                let entry = share
                    .redistributed
                    .entry(purpose.as_str().to_owned())
                    .or_default();
                entry.eur_minor += holding.eur_minor;
                entry.local_minor += holding.local_minor;
            }
            Place::Pool { .. } | Place::Refunded => {}
        }
    }
    // The invariant, asserted on every answer: every received cent is in exactly one place.
    if totals.iter().sum::<i64>() != received_total {
        return Err(AppError::internal_message(format!(
            "tracing does not reconcile: {totals:?} against {received_total} received"
        )));
    }
    let mut beneficiaries = Vec::with_capacity(shares.len());
    for (beneficiary_id, share) in shares {
        let beneficiary = app.store.organisation(beneficiary_id).await?;
        let currency = beneficiary
            .as_ref()
            .map_or(Currency::eur(), |organisation| organisation.currency);
        beneficiaries.push(BeneficiaryShareView {
            beneficiary_id: beneficiary_id.as_uuid(),
            beneficiary: beneficiary
                .map(|organisation| organisation.slug.to_string())
                .unwrap_or_default(),
            earmarked: eur(share.earmarked),
            held: eur(share.held),
            held_because: if share.held > 0 {
                reasons.get(&beneficiary_id).cloned().unwrap_or_default()
            } else {
                Vec::new()
            },
            in_transit: eur(share.in_transit),
            received: eur(share.received.eur_minor),
            received_local: local(share.received.local_minor, currency),
            redistributed: share
                .redistributed
                .into_iter()
                .map(|(purpose, holding)| PurposeView {
                    purpose,
                    eur: eur(holding.eur_minor),
                    local: local(holding.local_minor, currency),
                })
                .collect(),
        });
    }
    let mut received_in_other_currencies = Vec::new();
    for receipt in app.store.original_receipts(contributor.id).await? {
        let credited =
            Currency::from_code(&receipt.currency).map_err(AppError::internal_message)?;
        let sent =
            Currency::from_code(&receipt.original_currency).map_err(AppError::internal_message)?;
        received_in_other_currencies.push(OriginalReceiptView {
            batch_id: receipt.batch_id,
            value_date: receipt.value_date.to_string(),
            credited: Money::from_minor(receipt.amount_minor, credited),
            sent: Money::from_minor(receipt.original_amount_minor, sent),
            rate: receipt.original_rate,
        });
    }
    Ok(ContributorTracingView {
        contributor_id: contributor.id.as_uuid(),
        period: query.period.clone(),
        pledged_outstanding: eur(pledged_outstanding),
        received_total: eur(received_total),
        in_pool: eur(totals[0]),
        earmarked: eur(totals[1]),
        held: eur(totals[2]),
        in_transit: eur(totals[3]),
        with_beneficiaries: eur(totals[4]),
        redistributed: eur(totals[5]),
        refunded: eur(totals[6]),
        beneficiaries,
        received_in_other_currencies,
        checkpoint,
    })
}

/// Money from one contributor, for one period, in one state.
#[derive(Debug, Serialize, ToSchema)]
pub struct FunderView {
    pub contributor_id: Uuid,
    pub contributor: String,
    pub period: String,
    /// earmarked | held | in_transit | received | redistributed
    pub state: String,
    /// For `redistributed`: the purpose.
    pub purpose: Option<String>,
    pub eur: Money,
    pub local: Money,
}

/// Who funded a beneficiary.
#[derive(Debug, Serialize, ToSchema)]
pub struct BeneficiaryTracingView {
    pub beneficiary_id: Uuid,
    pub total: Money,
    pub funders: Vec<FunderView>,
    /// The latest signed checkpoint when this was read (`null` before the first): everything up to
    /// its sequence is counted here (later transactions may be too).
    pub checkpoint: Option<CheckpointView>,
}

/// Which contributors funded a beneficiary, how much and for which periods (the beneficiary
/// itself; admin, auditor). Another beneficiary's is a 403.
#[derive(Debug)]
pub struct TraceBeneficiary {
    /// The beneficiary's id as given (one that names no beneficiary: 404).
    pub id: String,
}

impl Query for TraceBeneficiary {
    const OPERATION: Operation = Operation::TraceBeneficiary;
    type Output = BeneficiaryTracingView;

    async fn read(self, app: &App, caller: &Caller) -> Result<BeneficiaryTracingView, AppError> {
        trace_beneficiary(app, caller, &self.id).await
    }
}

async fn trace_beneficiary(
    app: &App,
    caller: &Caller,
    id: &str,
) -> Result<BeneficiaryTracingView, AppError> {
    let beneficiary = traced_organisation(
        app,
        caller,
        id,
        OrganisationKind::Beneficiary,
        "beneficiary",
    )
    .await?;
    let checkpoint = checkpoint_before_read(app).await?;
    let funding = app
        .store
        .with_lot_book(|view| view.book.of_beneficiary(beneficiary.id))
        .await?;
    let mut total = 0_i64;
    let mut funders = Vec::new();
    let mut names: BTreeMap<OrganisationId, String> = BTreeMap::new();
    for ((contributor, period, place), holding) in funding {
        if let std::collections::btree_map::Entry::Vacant(entry) = names.entry(contributor) {
            let name = app
                .store
                .organisation(contributor)
                .await?
                .map(|organisation| organisation.slug.to_string())
                .unwrap_or_default();
            entry.insert(name);
        }
        let (state_name, purpose) = match place {
            Place::Earmarked { .. } => ("earmarked", None),
            Place::Held { .. } => ("held", None),
            Place::InTransit { .. } => ("in_transit", None),
            Place::Received { .. } => ("received", None),
            Place::Redistributed { purpose, .. } => {
                ("redistributed", Some(purpose.as_str().to_owned()))
            }
            Place::Pool { .. } | Place::Refunded => continue,
        };
        total += holding.eur_minor;
        funders.push(FunderView {
            contributor_id: contributor.as_uuid(),
            contributor: names.get(&contributor).cloned().unwrap_or_default(),
            period,
            state: state_name.to_owned(),
            purpose,
            eur: eur(holding.eur_minor),
            local: local(holding.local_minor, beneficiary.currency),
        });
    }
    Ok(BeneficiaryTracingView {
        beneficiary_id: beneficiary.id.as_uuid(),
        total: eur(total),
        funders,
        checkpoint,
    })
}
