//! The fund's IATI 2.03 files, built from the books: an activity file per programme and the
//! network's organisation file (`ledger_core::iati` writes them). Published without sign-in: IATI
//! is how aid flows are made public, and a file holds only what its organisations agreed to show
//! ([`published`] decides; an unnamed organisation's transactions are summed anonymously).

use std::collections::{BTreeMap, HashMap};

use ledger_core::iati::{
    ExpenditureRecord, IatiActivity, Party, PledgeRecord, ProgrammeBooks, ReceiptRecord,
    TransferRecord, activities_file, organisation_file, programme_activity,
};
use ledger_core::organisation::{Organisation, OrganisationKind, Programme};
use ledger_core::publication::is_published;
use ledger_core::{Amount, Currency, OrganisationId};
use uuid::Uuid;

use crate::App;
use crate::error::AppError;
use crate::fields::parse_id;
use crate::policy::Operation;
use crate::public::PublicQuery;

/// The most programmes the organisation file covers (each is read whole): far above what the
/// network runs, a bound on one public request's work.
pub const MAX_PROGRAMMES_IN_ORGANISATION_FILE: u32 = 100;

/// Whether an organisation is named in the IATI files: the one place this is decided. The network
/// publishes the files and is always named; every other organisation as its publication choice
/// says ([`ledger_core::publication::is_published`]: a beneficiary unless it declined, a
/// contributor only once it agreed). Those not named appear summed under an anonymous provider.
/// `choices` are the organisations' publication choices, read once per file.
pub fn published(organisation: &Organisation, choices: &HashMap<Uuid, bool>) -> bool {
    organisation.kind == OrganisationKind::Network
        || is_published(
            organisation.kind,
            choices.get(&organisation.id.as_uuid()).copied(),
        )
}

/// The network as the files name it. Its IATI identifier: the registry identifier recorded on the
/// network organisation, else the one the deployment configured
/// (`--iati-organisation-identifier`), else (neither) `ledger_core::iati`'s placeholder.
async fn network(app: &App) -> Result<Organisation, AppError> {
    let mut network = app
        .store
        .organisation_by_slug("network")
        .await?
        .filter(|organisation| organisation.kind == OrganisationKind::Network)
        .ok_or_else(|| AppError::internal_message("the network organisation is missing"))?;
    if network.registry_identifier.is_none() {
        network
            .registry_identifier
            .clone_from(&app.iati_organisation_identifier);
    }
    Ok(network)
}

fn amount(minor: i64, currency: &str) -> Result<Amount, AppError> {
    let currency = Currency::from_code(currency).map_err(AppError::internal)?;
    Amount::from_minor(minor, currency).map_err(AppError::internal)
}

fn organisation_id(id: Uuid) -> OrganisationId {
    OrganisationId::from_uuid(id)
}

/// The books of one programme as IATI reads them. Reports are kept per beneficiary, not per
/// programme: a report's lines go to the programme that paid the beneficiary first.
pub async fn programme_books(app: &App, programme: Programme) -> Result<ProgrammeBooks, AppError> {
    let started_on = app
        .store
        .programme_created_at(programme.id)
        .await?
        .ok_or_else(|| AppError::not_found("no such programme"))?
        .date_naive();
    let pledges = app
        .store
        .iati_pledges(programme.id)
        .await?
        .into_iter()
        .map(|(batch, contributor, at, minor, currency)| {
            Ok(PledgeRecord {
                batch,
                contributor: organisation_id(contributor),
                date: at.date_naive(),
                amount: amount(minor, &currency)?,
            })
        })
        .collect::<Result<_, AppError>>()?;
    let receipts = app
        .store
        .iati_receipts(programme.id)
        .await?
        .into_iter()
        .map(|(receipt, contributor, value_date, minor, currency)| {
            Ok(ReceiptRecord {
                receipt,
                contributor: organisation_id(contributor),
                value_date,
                amount: amount(minor, &currency)?,
            })
        })
        .collect::<Result<_, AppError>>()?;
    let transfers = app
        .store
        .iati_transfers(programme.id)
        .await?
        .into_iter()
        .map(|(transfer, beneficiary, at, minor, currency, settled_on)| {
            Ok(TransferRecord {
                transfer,
                beneficiary: organisation_id(beneficiary),
                executed_on: at.date_naive(),
                amount: amount(minor, &currency)?,
                settled_on,
            })
        })
        .collect::<Result<_, AppError>>()?;
    let mut first_payer: BTreeMap<Uuid, Uuid> = BTreeMap::new();
    for (beneficiary, paying) in app.store.iati_paying_programmes().await? {
        first_payer.entry(beneficiary).or_insert(paying);
    }
    let mut expenditures = Vec::new();
    for (report, line, beneficiary, at, currency, purpose, minor) in
        app.store.iati_expenditures().await?
    {
        if first_payer.get(&beneficiary) != Some(&programme.id) {
            continue;
        }
        expenditures.push(ExpenditureRecord {
            report,
            line: usize::try_from(line).map_err(AppError::internal)?,
            beneficiary: organisation_id(beneficiary),
            accepted_on: at.date_naive(),
            purpose,
            amount: amount(minor, &currency)?,
        });
    }
    Ok(ProgrammeBooks {
        programme,
        started_on,
        pledges,
        receipts,
        transfers,
        expenditures,
    })
}

/// Every organisation the books name, with its publication choice.
async fn parties(
    app: &App,
    books: &ProgrammeBooks,
) -> Result<BTreeMap<OrganisationId, Party>, AppError> {
    let ids = books
        .pledges
        .iter()
        .map(|pledge| pledge.contributor)
        .chain(books.receipts.iter().map(|receipt| receipt.contributor))
        .chain(books.transfers.iter().map(|transfer| transfer.beneficiary))
        .chain(books.expenditures.iter().map(|line| line.beneficiary));
    let choices = app.store.publication_choices().await?;
    let mut parties = BTreeMap::new();
    for id in ids {
        if parties.contains_key(&id) {
            continue;
        }
        let organisation =
            app.store.organisation(id).await?.ok_or_else(|| {
                AppError::internal_message(format!("organisation {id} is missing"))
            })?;
        let published = published(&organisation, &choices);
        parties.insert(
            id,
            Party {
                organisation,
                published,
            },
        );
    }
    Ok(parties)
}

async fn activity(
    app: &App,
    network: &Organisation,
    programme: Programme,
) -> Result<IatiActivity, AppError> {
    let books = programme_books(app, programme).await?;
    let parties = parties(app, &books).await?;
    programme_activity(network, &books, &parties).map_err(AppError::internal)
}

/// The activity file of one programme (anyone; an id that names none: 404).
#[derive(Debug)]
pub struct ReadIatiActivity {
    pub programme_id: String,
}

impl PublicQuery for ReadIatiActivity {
    const OPERATION: Operation = Operation::ReadIatiActivity;
    type Output = Vec<u8>;

    async fn read(self, app: &App) -> Result<Vec<u8>, AppError> {
        let not_found = || AppError::not_found("no such programme");
        let id = parse_id(&self.programme_id).ok_or_else(not_found)?;
        let programme = app.store.programme(id).await?.ok_or_else(not_found)?;
        let network = network(app).await?;
        let activity = activity(app, &network, programme).await?;
        activities_file(&[activity], app.sources.timestamp()).map_err(AppError::internal)
    }
}

/// The network's organisation file (anyone): what it disbursed each year, per programme.
#[derive(Debug)]
pub struct ReadIatiOrganisation;

impl PublicQuery for ReadIatiOrganisation {
    const OPERATION: Operation = Operation::ReadIatiOrganisation;
    type Output = Vec<u8>;

    async fn read(self, app: &App) -> Result<Vec<u8>, AppError> {
        let network = network(app).await?;
        let programmes = app
            .store
            .programmes(None, MAX_PROGRAMMES_IN_ORGANISATION_FILE)
            .await?;
        let mut activities = Vec::with_capacity(programmes.len());
        for programme in programmes {
            let name = programme.name.clone();
            activities.push((activity(app, &network, programme).await?, name));
        }
        organisation_file(&network, &activities, app.sources.timestamp())
            .map_err(AppError::internal)
    }
}
