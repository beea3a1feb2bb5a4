//! The fund in public: what anyone may read without signing in (the fund at a glance, the
//! directory of member mutuals, a published union's page, the chain head), and the one command
//! that decides who is named there — an organisation's publication choice. Figures come from the
//! store's lot book, kept up to date with the journal ([`ledger_core::fund`]); names only of
//! organisations that agreed ([`ledger_core::publication`]). Bank details, contacts, evidence and
//! facts' documents are never part of a public view.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use ledger_core::fund::{FundSummary, MutualFunds, StateTotals, cents_per_euro, summarise};
use ledger_core::lots::Place;
use ledger_core::organisation::{Organisation, OrganisationKind, Programme};
use ledger_core::publication::{is_published, may_choose};
use ledger_core::{Currency, OrganisationId};
use ledger_store::WriteRequest;
use ledger_store::records::{PublicationChoiceRecord, Record};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::checkpoints::{CheckpointView, checkpoint_before_read};
use crate::eligibility::eligibility_from;
use crate::error::{AppError, FieldError};
use crate::fields::parse_id;
use crate::lot_tracing::local;
use crate::money::Money;
use crate::policy::{Operation, require_public};
use crate::runner::{Command, Planned, Status};
use crate::{App, Caller};

/// Organisations and programmes read per page while gathering every one of them.
const REGISTRY_PAGE: u32 = 1000;
/// The most organisations (or programmes) a public view reads: far above the network's size
/// (tens of members), so that a runaway registry cannot make a public page unbounded.
pub const MAX_PUBLIC_REGISTRY: usize = 100_000;

/// The flows (contributor → mutual) a public view names one by one; smaller ones are summed.
pub const MAX_PUBLIC_FLOWS: usize = 30;

/// A read anyone may run, signed in or not. It has no caller: it can only show what every
/// organisation agreed to publish.
pub trait PublicQuery: Send + Sized {
    const OPERATION: Operation;
    type Output: Send;

    fn read(self, app: &App) -> impl Future<Output = Result<Self::Output, AppError>> + Send;
}

impl App {
    /// Runs a public read: the policy (the operation must be public), then the read.
    pub async fn query_public<Q: PublicQuery>(&self, query: Q) -> Result<Q::Output, AppError> {
        require_public(Q::OPERATION)?;
        query.read(self).await
    }
}

// ---------------------------------------------------------------------------------------------
// The publication choice.

/// Whether an organisation agrees to be named on the public site.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoosePublicationBody {
    pub published: bool,
}

/// A publication choice as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicationView {
    pub organisation_id: Uuid,
    pub published: bool,
    pub chosen_by: String,
    pub chosen_at: String,
}

/// An organisation's choice to be named on the public site: by the organisation itself
/// (a contributor or a beneficiary, for its own organisation) or by the network's admin. The
/// latest choice is in force; earlier ones stay as its history.
#[derive(Debug)]
pub struct ChoosePublication {
    /// The organisation's id as given in the path.
    pub organisation: String,
    pub body: ChoosePublicationBody,
}

impl Command for ChoosePublication {
    const OPERATION: Operation = Operation::ChoosePublication;
    type Output = PublicationView;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<PublicationView>, AppError> {
        let not_found = || AppError::not_found("no such organisation");
        let id = OrganisationId::from_uuid(parse_id(&self.organisation).ok_or_else(not_found)?);
        let organisation = app.store.organisation(id).await?.ok_or_else(not_found)?;
        if !caller.may_see(id) {
            return Err(AppError::forbidden(
                "an organisation chooses only its own publication",
            ));
        }
        if !may_choose(organisation.kind) {
            return Err(AppError::validation(vec![FieldError::new(
                "organisation",
                "only contributors and beneficiaries have a public page",
            )]));
        }
        let record = PublicationChoiceRecord {
            id: app.sources.id(),
            organisation_id: id,
            published: self.body.published,
            chosen_by: caller.subject.clone(),
            chosen_at: app.sources.timestamp(),
        };
        let view = PublicationView {
            organisation_id: id.as_uuid(),
            published: record.published,
            chosen_by: record.chosen_by.clone(),
            chosen_at: record.chosen_at.to_datetime().to_rfc3339(),
        };
        let write = WriteRequest {
            records: vec![Record::PublicationChoice(record)],
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, view, write))
    }
}

// ---------------------------------------------------------------------------------------------
// Public views.

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::eur())
}

/// An organisation as named in public.
#[derive(Debug, Clone, Serialize)]
pub struct PublicName {
    pub slug: String,
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

impl From<&Organisation> for PublicName {
    fn from(organisation: &Organisation) -> Self {
        PublicName {
            slug: organisation.slug.to_string(),
            name: organisation.name.clone(),
            country: organisation.country.clone(),
        }
    }
}

/// EUR in each state.
#[derive(Debug, Clone, Serialize)]
pub struct StateTotalsView {
    pub received: Money,
    /// Sent to the mutuals: in transit, with them, or redistributed.
    pub transferred: Money,
    pub redistributed: Money,
    /// Still in the fund: awaiting allocation or held for a mutual.
    pub kept: Money,
    pub awaiting: Money,
    pub held: Money,
    pub in_transit: Money,
    pub with_mutuals: Money,
    pub refunded: Money,
}

impl From<&StateTotals> for StateTotalsView {
    fn from(totals: &StateTotals) -> Self {
        StateTotalsView {
            received: eur(totals.received),
            transferred: eur(totals.transferred()),
            redistributed: eur(totals.redistributed),
            kept: eur(totals.kept()),
            awaiting: eur(totals.awaiting),
            held: eur(totals.held),
            in_transit: eur(totals.in_transit),
            with_mutuals: eur(totals.with_mutuals),
            refunded: eur(totals.refunded),
        }
    }
}

/// One year of one programme.
#[derive(Debug, Serialize)]
pub struct YearProgrammeView {
    pub year: String,
    pub programme_id: Uuid,
    pub programme: String,
    pub totals: StateTotalsView,
}

/// Where the euros went, per state or purpose, in cents of each euro received.
#[derive(Debug, Serialize)]
pub struct EuroShareView {
    /// A state (`awaiting`, `held`, `in_transit`, `with_mutuals`, `refunded`) or, for what was
    /// redistributed, a purpose (`care_reimbursement`, ...).
    pub part: String,
    pub eur: Money,
    /// Decimal string, two places: `37.50` cents of each euro.
    pub cents_per_euro: String,
}

/// What went from contributors to one mutual: from each union that agreed to be named, and from
/// the others together.
#[derive(Debug, Serialize)]
pub struct FlowView {
    /// `None`: the unions that did not choose to be named, together.
    pub contributor: Option<PublicName>,
    pub mutual: PublicName,
    pub eur: Money,
}

/// The chain head: what an exported file's last hash must equal.
#[derive(Debug, Serialize)]
pub struct ChainHeadView {
    pub sequence: u64,
    /// 64 lower-case hex digits.
    pub hash: String,
    /// The latest signed checkpoint, if the service signs them.
    pub checkpoint: Option<CheckpointView>,
}

/// The fund at a glance.
#[derive(Debug, Serialize)]
pub struct PublicFundView {
    pub totals: StateTotalsView,
    pub by_year_programme: Vec<YearProgrammeView>,
    /// Where one euro goes: every state and purpose, adding up to 100 cents (to rounding).
    pub one_euro: Vec<EuroShareView>,
    /// The [`MAX_PUBLIC_FLOWS`] largest flows, largest first.
    pub flows: Vec<FlowView>,
    /// Every other flow, summed.
    pub other_flows: Money,
    pub contributors_count: usize,
    pub contributors_named: usize,
    pub mutuals_count: usize,
    pub chain_head: ChainHeadView,
}

/// A condition of a programme for a mutual, without its evidence.
#[derive(Debug, Serialize)]
pub struct PublicConditionView {
    pub code: String,
    pub passed: bool,
    /// From when the fact it reads holds (`YYYY-MM-DD`), when one was recorded.
    pub since: Option<String>,
}

/// A programme's conditions for a mutual, as of today.
#[derive(Debug, Serialize)]
pub struct ProgrammeConditionsView {
    pub programme_id: Uuid,
    pub programme: String,
    pub eligible: bool,
    pub as_of: String,
    pub conditions: Vec<PublicConditionView>,
}

/// What a mutual redistributed for one purpose.
#[derive(Debug, Serialize)]
pub struct PurposeAmountView {
    pub purpose: String,
    pub eur: Money,
    pub local: Money,
}

/// A member mutual in the directory.
#[derive(Debug, Serialize)]
pub struct MutualView {
    #[serde(flatten)]
    pub name: PublicName,
    pub currency: String,
    pub covered_members: Option<u64>,
    pub received: Money,
    pub received_local: Money,
    pub in_transit: Money,
    pub held: Money,
    pub redistributed: Vec<PurposeAmountView>,
    pub programmes: Vec<ProgrammeConditionsView>,
}

/// The directory of member mutuals.
#[derive(Debug, Serialize)]
pub struct DirectoryView {
    pub mutuals: Vec<MutualView>,
}

/// A union that agreed to be named, and where its members' euros are.
#[derive(Debug, Serialize)]
pub struct UnionView {
    #[serde(flatten)]
    pub name: PublicName,
    pub covered_members: Option<u64>,
    pub totals: StateTotalsView,
    /// What went to each mutual.
    pub mutuals: Vec<(PublicName, Money)>,
}

/// A public page of one organisation.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PublicOrganisationView {
    Mutual(Box<MutualView>),
    Union(Box<UnionView>),
}

/// Every organisation and whether it is named in public.
struct Registry {
    organisations: HashMap<OrganisationId, (Organisation, bool)>,
}

impl Registry {
    async fn read(app: &App) -> Result<Registry, AppError> {
        let choices = app.store.publication_choices().await?;
        let mut organisations = HashMap::new();
        let mut after = None;
        loop {
            let page = app.store.organisations(after, REGISTRY_PAGE).await?;
            let full = page.len() == REGISTRY_PAGE as usize;
            for organisation in page {
                after = Some(organisation.id.as_uuid());
                let published = is_published(
                    organisation.kind,
                    choices.get(&organisation.id.as_uuid()).copied(),
                );
                organisations.insert(organisation.id, (organisation, published));
            }
            if !full || organisations.len() >= MAX_PUBLIC_REGISTRY {
                break;
            }
        }
        Ok(Registry { organisations })
    }

    fn named(&self, id: OrganisationId) -> Option<&Organisation> {
        self.organisations
            .get(&id)
            .filter(|(_, published)| *published)
            .map(|(organisation, _)| organisation)
    }

    fn count(&self, kind: OrganisationKind) -> (usize, usize) {
        let of_kind = self
            .organisations
            .values()
            .filter(|(organisation, _)| organisation.kind == kind);
        let all = of_kind.clone().count();
        (all, of_kind.filter(|(_, published)| *published).count())
    }
}

async fn programmes(app: &App) -> Result<Vec<Programme>, AppError> {
    let mut programmes = Vec::new();
    let mut after = None;
    loop {
        let page = app.store.programmes(after, REGISTRY_PAGE).await?;
        let full = page.len() == REGISTRY_PAGE as usize;
        after = page.last().map(|programme| programme.id);
        programmes.extend(page);
        if !full || programmes.len() >= MAX_PUBLIC_REGISTRY {
            return Ok(programmes);
        }
    }
}

async fn fund_summary(app: &App) -> Result<FundSummary, AppError> {
    app.store
        .with_lot_book(|view| summarise(view.book))
        .await?
        .map_err(AppError::internal)
}

/// The fund at a glance (anyone).
#[derive(Debug)]
pub struct ReadPublicFund;

impl PublicQuery for ReadPublicFund {
    const OPERATION: Operation = Operation::ReadPublicFund;
    type Output = PublicFundView;

    async fn read(self, app: &App) -> Result<PublicFundView, AppError> {
        let checkpoint = checkpoint_before_read(app).await?;
        let (sequence, hash) = app.store.chain_head().await?;
        let summary = fund_summary(app).await?;
        let registry = Registry::read(app).await?;
        let names: HashMap<Uuid, String> = programmes(app)
            .await?
            .into_iter()
            .map(|programme| (programme.id, programme.name))
            .collect();
        let totals = &summary.totals;
        let mut one_euro = Vec::new();
        for (part, minor) in [
            ("awaiting", totals.awaiting),
            ("held", totals.held),
            ("in_transit", totals.in_transit),
            ("with_mutuals", totals.with_mutuals),
        ] {
            one_euro.push(euro_share(part, minor, totals.received));
        }
        for (purpose, minor) in &summary.purposes {
            one_euro.push(euro_share(purpose.as_str(), *minor, totals.received));
        }
        if totals.refunded > 0 {
            one_euro.push(euro_share("refunded", totals.refunded, totals.received));
        }
        // Unions that did not agree to be named are counted together, per mutual.
        let mut flows: BTreeMap<(Option<String>, String), NamedFlow> = BTreeMap::new();
        for ((contributor, mutual), minor) in &summary.flows {
            let Some(mutual) = registry.named(*mutual) else {
                continue;
            };
            let contributor = registry.named(*contributor).map(PublicName::from);
            let key = (
                contributor.as_ref().map(|name| name.slug.clone()),
                mutual.slug.to_string(),
            );
            let entry = flows
                .entry(key)
                .or_insert_with(|| (contributor, PublicName::from(mutual), 0));
            entry.2 = entry.2.saturating_add(*minor);
        }
        // The largest flows, named; the rest summed in one figure (a page stays readable and
        // small however many unions and mutuals the network has).
        let mut flows: Vec<NamedFlow> = flows.into_values().collect();
        flows.sort_by_key(|flow| std::cmp::Reverse(flow.2));
        let other_flows_minor = flows
            .iter()
            .skip(MAX_PUBLIC_FLOWS)
            .fold(0_i64, |sum, flow| sum.saturating_add(flow.2));
        flows.truncate(MAX_PUBLIC_FLOWS);
        let (contributors_count, contributors_named) =
            registry.count(OrganisationKind::Contributor);
        let (_, mutuals_count) = registry.count(OrganisationKind::Beneficiary);
        Ok(PublicFundView {
            totals: StateTotalsView::from(totals),
            by_year_programme: summary
                .by_year_programme
                .iter()
                .map(|((year, programme), totals)| YearProgrammeView {
                    year: year.clone(),
                    programme_id: *programme,
                    programme: names.get(programme).cloned().unwrap_or_default(),
                    totals: StateTotalsView::from(totals),
                })
                .collect(),
            one_euro,
            other_flows: eur(other_flows_minor),
            flows: flows
                .into_iter()
                .map(|(contributor, mutual, minor)| FlowView {
                    contributor,
                    mutual,
                    eur: eur(minor),
                })
                .collect(),
            contributors_count,
            contributors_named,
            mutuals_count,
            chain_head: ChainHeadView {
                sequence,
                hash: hash.to_hex(),
                checkpoint,
            },
        })
    }
}

/// A flow as named in public: the union (none: the unnamed ones together), the mutual, EUR minor.
type NamedFlow = (Option<PublicName>, PublicName, i64);

fn euro_share(part: &str, minor: i64, received: i64) -> EuroShareView {
    EuroShareView {
        part: part.to_owned(),
        eur: eur(minor),
        cents_per_euro: cents_per_euro(minor, received).to_string(),
    }
}

/// A mutual's public entry, from its funds and what its conditions read.
/// What a mutual's conditions read: its facts, its confirmed transfers (value date, local minor
/// units) and what its accepted reports accounted for.
struct ConditionInputs<'a> {
    facts: &'a [ledger_core::conditions::Fact],
    settled: &'a [(chrono::NaiveDate, i64)],
    accounted_minor: i64,
    today: chrono::NaiveDate,
}

fn mutual_view(
    mutual: &Organisation,
    funds: &MutualFunds,
    programmes: &[Programme],
    inputs: &ConditionInputs<'_>,
) -> Result<MutualView, AppError> {
    let ConditionInputs {
        facts,
        settled,
        accounted_minor: accounted,
        today,
    } = *inputs;
    let mut programme_views = Vec::new();
    for programme in programmes
        .iter()
        .filter(|programme| !programme.conditions.is_empty())
    {
        let eligibility = eligibility_from(programme, mutual, facts, settled, accounted, today)?;
        programme_views.push(ProgrammeConditionsView {
            programme_id: programme.id,
            programme: programme.name.clone(),
            eligible: eligibility.eligible,
            as_of: eligibility.as_of.to_string(),
            conditions: eligibility
                .conditions
                .iter()
                .map(|verdict| PublicConditionView {
                    code: verdict.code.as_str().to_owned(),
                    passed: verdict.passed,
                    since: verdict
                        .facts
                        .iter()
                        .map(|fact| fact.as_of)
                        .max()
                        .map(|date| date.to_string()),
                })
                .collect(),
        });
    }
    Ok(MutualView {
        name: PublicName::from(mutual),
        currency: mutual.currency.code().to_owned(),
        covered_members: mutual.covered_members,
        received: eur(funds.received_eur()),
        received_local: local(funds.received_local(), mutual.currency),
        in_transit: eur(funds.in_transit),
        held: eur(funds.held),
        redistributed: funds
            .redistributed
            .iter()
            .map(|(purpose, holding)| PurposeAmountView {
                purpose: purpose.as_str().to_owned(),
                eur: eur(holding.eur_minor),
                local: local(holding.local_minor, mutual.currency),
            })
            .collect(),
        programmes: programme_views,
    })
}

/// The directory of member mutuals that are published (anyone).
#[derive(Debug)]
pub struct ReadPublicDirectory;

impl PublicQuery for ReadPublicDirectory {
    const OPERATION: Operation = Operation::ReadPublicDirectory;
    type Output = DirectoryView;

    async fn read(self, app: &App) -> Result<DirectoryView, AppError> {
        let summary = fund_summary(app).await?;
        let registry = Registry::read(app).await?;
        let programmes = programmes(app).await?;
        let mut published: Vec<&Organisation> = registry
            .organisations
            .values()
            .filter(|(organisation, published)| {
                *published && organisation.kind == OrganisationKind::Beneficiary
            })
            .map(|(organisation, _)| organisation)
            .collect();
        published.sort_by(|left, right| left.name.cmp(&right.name));
        // Every mutual's facts, confirmations and accepted reports in three reads.
        let book = app.store.beneficiary_book().await?;
        let accounted = app.store.accepted_report_totals().await?;
        let today = app.sources.today()?.naive();
        let none = MutualFunds::default();
        let mut mutuals = Vec::with_capacity(published.len());
        for mutual in published {
            let funds = summary.mutuals.get(&mutual.id).unwrap_or(&none);
            let inputs = ConditionInputs {
                facts: book
                    .facts
                    .get(&mutual.id.as_uuid())
                    .map_or(&[], Vec::as_slice),
                settled: book
                    .settled
                    .get(&mutual.id.as_uuid())
                    .map_or(&[], Vec::as_slice),
                accounted_minor: accounted.get(&mutual.id.as_uuid()).copied().unwrap_or(0),
                today,
            };
            mutuals.push(mutual_view(mutual, funds, &programmes, &inputs)?);
        }
        Ok(DirectoryView { mutuals })
    }
}

/// One organisation's public page, by slug (anyone): a published mutual or union. An
/// organisation that is not published is a 404, as one that does not exist.
#[derive(Debug)]
pub struct ReadPublicOrganisation {
    pub slug: String,
}

impl PublicQuery for ReadPublicOrganisation {
    const OPERATION: Operation = Operation::ReadPublicOrganisation;
    type Output = PublicOrganisationView;

    async fn read(self, app: &App) -> Result<PublicOrganisationView, AppError> {
        let not_found = || AppError::not_found("no such public page");
        let organisation = app
            .store
            .organisation_by_slug(&self.slug)
            .await?
            .ok_or_else(not_found)?;
        let choice = app
            .store
            .publication_choices()
            .await?
            .get(&organisation.id.as_uuid())
            .copied();
        if !is_published(organisation.kind, choice) {
            return Err(not_found());
        }
        match organisation.kind {
            OrganisationKind::Beneficiary => {
                let programmes = programmes(app).await?;
                // Only this mutual's places of the lot book are read.
                let funds = app
                    .store
                    .with_lot_book(|view| {
                        let mut funds = MutualFunds::default();
                        for ((_, _, place), holding) in view.book.of_beneficiary(organisation.id) {
                            match place {
                                Place::Held { .. } => funds.held += holding.eur_minor,
                                Place::InTransit { .. } => funds.in_transit += holding.eur_minor,
                                Place::Received { .. } => {
                                    funds.with_mutual.eur_minor += holding.eur_minor;
                                    funds.with_mutual.local_minor += holding.local_minor;
                                }
                                Place::Redistributed { purpose, .. } => {
                                    let entry = funds.redistributed.entry(purpose).or_default();
                                    entry.eur_minor += holding.eur_minor;
                                    entry.local_minor += holding.local_minor;
                                }
                                Place::Pool { .. } | Place::Earmarked { .. } | Place::Refunded => {}
                            }
                        }
                        funds
                    })
                    .await?;
                let facts = app.store.facts(organisation.id).await?;
                let settled = app.store.settled_for(organisation.id).await?;
                let inputs = ConditionInputs {
                    facts: &facts,
                    settled: &settled,
                    accounted_minor: app
                        .store
                        .report_totals(organisation.id.as_uuid())
                        .await?
                        .accepted_minor,
                    today: app.sources.today()?.naive(),
                };
                let view = mutual_view(&organisation, &funds, &programmes, &inputs)?;
                Ok(PublicOrganisationView::Mutual(Box::new(view)))
            }
            OrganisationKind::Contributor => {
                let summary = fund_summary(app).await?;
                let registry = Registry::read(app).await?;
                let totals = summary
                    .contributors
                    .get(&organisation.id)
                    .copied()
                    .unwrap_or_default();
                let mutuals = summary
                    .flows
                    .iter()
                    .filter(|((contributor, _), _)| *contributor == organisation.id)
                    .filter_map(|((_, mutual), minor)| {
                        registry
                            .named(*mutual)
                            .map(|mutual| (PublicName::from(mutual), eur(*minor)))
                    })
                    .collect();
                Ok(PublicOrganisationView::Union(Box::new(UnionView {
                    name: PublicName::from(&organisation),
                    covered_members: organisation.covered_members,
                    totals: StateTotalsView::from(&totals),
                    mutuals,
                })))
            }
            OrganisationKind::Network | OrganisationKind::Auditor => Err(not_found()),
        }
    }
}
