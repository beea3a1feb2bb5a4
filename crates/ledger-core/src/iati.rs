//! The fund's books as IATI 2.03 files: an activity per programme and an organisation file for the
//! network. A programme is an activity; a pledge is transaction type 11 (incoming commitment), a
//! receipt type 1 (incoming funds), an executed allocation type 2 (outgoing commitment), a settled
//! transfer type 3 (disbursement), an accepted redistribution line type 4 (expenditure). Every
//! value carries its currency and value date; the programme's redistribution conditions are its
//! `<conditions>`. An organisation that does not publish is never named: its transactions are
//! summed per type, day and currency under an anonymous counterpart, so the totals still equal the
//! books'. Pure: the records and the publication choices are passed in.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

use crate::journal::OrganisationId;
use crate::money::{Amount, AmountError};
use crate::organisation::{ConditionCode, Organisation, OrganisationKind, Programme};
use crate::time::Timestamp;
use crate::xml_writer::{XmlDocument, XmlError};

#[path = "iati_rules.rs"]
mod rules;
pub use rules::{
    MAX_ORGANISATION_IDENTIFIER_LENGTH, activity_identifier, checked_organisation_identifier,
    organisation_reference, recipient_countries,
};

/// The IATI standard version the files declare.
pub const IATI_VERSION: &str = "2.03";

/// IATI `TransactionType` codes the fund uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TransactionType {
    IncomingCommitment,
    IncomingFunds,
    OutgoingCommitment,
    Disbursement,
    Expenditure,
}

impl TransactionType {
    /// The codelist value.
    pub fn code(self) -> &'static str {
        match self {
            TransactionType::IncomingCommitment => "11",
            TransactionType::IncomingFunds => "1",
            TransactionType::OutgoingCommitment => "2",
            TransactionType::Disbursement => "3",
            TransactionType::Expenditure => "4",
        }
    }

    fn description(self) -> &'static str {
        match self {
            TransactionType::IncomingCommitment => "Solidarity contributions pledged",
            TransactionType::IncomingFunds => "Solidarity contributions received",
            TransactionType::OutgoingCommitment => "Transfer to a health mutual executed",
            TransactionType::Disbursement => "Transfer confirmed received by the health mutual",
            TransactionType::Expenditure => "Redistributed by the health mutual",
        }
    }
}

/// IATI `ConditionType` of each redistribution condition: policy (1), performance (2) or
/// fiduciary (3).
pub fn condition_type(code: ConditionCode) -> &'static str {
    match code {
        ConditionCode::ContributionRatesDefined
        | ConditionCode::PublicCofinancing
        | ConditionCode::Governance => "1",
        ConditionCode::MutualOperational | ConditionCode::LocalCofinancing => "2",
        ConditionCode::ReportingUpToDate | ConditionCode::AdminCostCap => "3",
    }
}

fn condition_text(code: ConditionCode, parameter: Option<&rust_decimal::Decimal>) -> String {
    let what = match code {
        ConditionCode::MutualOperational => "the mutual is up and running",
        ConditionCode::ContributionRatesDefined => {
            "its health-insurance contribution rates are defined"
        }
        ConditionCode::LocalCofinancing => {
            "local member contributions reach at least this % of the transfer"
        }
        ConditionCode::PublicCofinancing => {
            "public authorities contribute at least this % of the transfer"
        }
        ConditionCode::ReportingUpToDate => {
            "every transfer older than this many days is accounted for by accepted reports"
        }
        ConditionCode::AdminCostCap => {
            "administration stays within this % of the redistributed funds"
        }
        ConditionCode::Governance => "a general assembly was held within this many months",
    };
    match parameter {
        Some(parameter) => {
            format!("A health mutual receives transfers only while {what}: {parameter}.")
        }
        None => format!("A health mutual receives transfers only while {what}."),
    }
}

/// IATI `OrganisationType` of each kind of organisation: the network is an international NGO (21),
/// unions, mutuals and auditors national ones (22).
pub fn organisation_type(kind: OrganisationKind) -> &'static str {
    match kind {
        OrganisationKind::Network => "21",
        OrganisationKind::Contributor
        | OrganisationKind::Beneficiary
        | OrganisationKind::Auditor => "22",
    }
}

/// A pledge (a contribution batch not reversed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PledgeRecord {
    pub batch: Uuid,
    pub contributor: OrganisationId,
    pub date: NaiveDate,
    pub amount: Amount,
}

/// A bank receipt of a batch not reversed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRecord {
    pub receipt: Uuid,
    pub contributor: OrganisationId,
    pub value_date: NaiveDate,
    pub amount: Amount,
}

/// A transfer of a run (top-ups are fee coverage, the network's own money, not the programme's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    pub transfer: Uuid,
    pub beneficiary: OrganisationId,
    pub executed_on: NaiveDate,
    pub amount: Amount,
    /// The confirmation's value date, once the beneficiary confirmed it.
    pub settled_on: Option<NaiveDate>,
}

/// One line of an accepted redistribution report (not reversed), in the beneficiary's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpenditureRecord {
    pub report: Uuid,
    pub line: usize,
    pub beneficiary: OrganisationId,
    pub accepted_on: NaiveDate,
    pub purpose: String,
    pub amount: Amount,
}

/// What the books say about one programme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeBooks {
    pub programme: Programme,
    pub started_on: NaiveDate,
    pub pledges: Vec<PledgeRecord>,
    pub receipts: Vec<ReceiptRecord>,
    pub transfers: Vec<TransferRecord>,
    pub expenditures: Vec<ExpenditureRecord>,
}

/// An organisation met in the books, and whether it agreed to be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub organisation: Organisation,
    pub published: bool,
}

/// Why a file cannot be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IatiError {
    #[error("an organisation the books name is unknown: {0}")]
    UnknownOrganisation(OrganisationId),
    #[error("a sum of transactions overflows: {0}")]
    Overflow(#[from] AmountError),
    #[error(transparent)]
    Xml(#[from] XmlError),
}

/// A provider or receiver: named with its reference, or anonymous.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Counterpart {
    pub reference: Option<String>,
    pub type_code: &'static str,
    pub name: String,
}

impl Counterpart {
    fn of(party: &Party) -> Counterpart {
        if party.published {
            return Counterpart {
                reference: Some(organisation_reference(&party.organisation)),
                type_code: organisation_type(party.organisation.kind),
                name: party.organisation.name.clone(),
            };
        }
        let name = match party.organisation.kind {
            OrganisationKind::Contributor => "Education unions and mutuals (not named)",
            OrganisationKind::Beneficiary => "Health mutuals (not named)",
            OrganisationKind::Network | OrganisationKind::Auditor => "Organisations (not named)",
        };
        Counterpart {
            reference: None,
            type_code: organisation_type(party.organisation.kind),
            name: name.to_owned(),
        }
    }
}

/// Where unnamed transactions are summed: (type, day, value date, currency, counterpart,
/// incoming).
type UnnamedKey = (
    TransactionType,
    NaiveDate,
    NaiveDate,
    &'static str,
    Counterpart,
    bool,
);

/// The transactions of an activity as they are collected: one per record with a published
/// counterpart, sums for the rest.
struct Collector {
    network: Counterpart,
    named: Vec<IatiTransaction>,
    unnamed: BTreeMap<UnnamedKey, Amount>,
}

impl Collector {
    fn add(
        &mut self,
        kind: TransactionType,
        reference: String,
        date: NaiveDate,
        value: Amount,
        counterpart: &Party,
        incoming: bool,
    ) -> Result<(), IatiError> {
        let other = Counterpart::of(counterpart);
        if counterpart.published {
            let (provider, receiver) = if incoming {
                (other, self.network.clone())
            } else {
                (self.network.clone(), other)
            };
            self.named.push(IatiTransaction {
                kind,
                reference: Some(reference),
                date,
                value,
                value_date: date,
                provider,
                receiver,
            });
        } else {
            let key = (kind, date, date, value.currency().code(), other, incoming);
            let sum = match self.unnamed.get(&key) {
                Some(sum) => sum.checked_add(value)?,
                None => value,
            };
            self.unnamed.insert(key, sum);
        }
        Ok(())
    }
}

/// One transaction of an activity file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IatiTransaction {
    pub kind: TransactionType,
    /// Our record's id, when the transaction is one record (not a sum of unnamed ones).
    pub reference: Option<String>,
    pub date: NaiveDate,
    pub value: Amount,
    pub value_date: NaiveDate,
    pub provider: Counterpart,
    pub receiver: Counterpart,
}

/// One activity: a programme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IatiActivity {
    pub identifier: String,
    pub reporting: Counterpart,
    pub title: String,
    pub description: String,
    /// (organisation, IATI `OrganisationRole` code).
    pub participants: Vec<(Counterpart, &'static str)>,
    pub started_on: NaiveDate,
    pub default_currency: &'static str,
    pub transactions: Vec<IatiTransaction>,
    /// (IATI `ConditionType` code, text).
    pub conditions: Vec<(&'static str, String)>,
    /// (ISO 3166-1 alpha-2 code, percentage): [`recipient_countries`].
    pub recipient_countries: Vec<(String, String)>,
}

/// The activity of one programme, from its books. Transactions with an unpublished counterpart
/// are summed per type, day and currency; the rest are one transaction per record.
pub fn programme_activity(
    network: &Organisation,
    books: &ProgrammeBooks,
    parties: &BTreeMap<OrganisationId, Party>,
) -> Result<IatiActivity, IatiError> {
    let party = |id: OrganisationId| parties.get(&id).ok_or(IatiError::UnknownOrganisation(id));
    let network_party = Counterpart::of(&Party {
        organisation: network.clone(),
        published: true,
    });
    let mut collector = Collector {
        network: network_party.clone(),
        named: Vec::new(),
        unnamed: BTreeMap::new(),
    };
    let mut add = |kind, reference, date, value, counterpart: &Party, incoming| {
        collector.add(kind, reference, date, value, counterpart, incoming)
    };
    for pledge in &books.pledges {
        add(
            TransactionType::IncomingCommitment,
            pledge.batch.to_string(),
            pledge.date,
            pledge.amount,
            party(pledge.contributor)?,
            true,
        )?;
    }
    for receipt in &books.receipts {
        add(
            TransactionType::IncomingFunds,
            receipt.receipt.to_string(),
            receipt.value_date,
            receipt.amount,
            party(receipt.contributor)?,
            true,
        )?;
    }
    for transfer in &books.transfers {
        let beneficiary = party(transfer.beneficiary)?;
        add(
            TransactionType::OutgoingCommitment,
            transfer.transfer.to_string(),
            transfer.executed_on,
            transfer.amount,
            beneficiary,
            false,
        )?;
        if let Some(settled_on) = transfer.settled_on {
            add(
                TransactionType::Disbursement,
                format!("{}-settled", transfer.transfer),
                settled_on,
                transfer.amount,
                beneficiary,
                false,
            )?;
        }
    }
    // An expenditure is the mutual's own spending: it provides, the members' care receives.
    let mut expenditures = Vec::new();
    for line in &books.expenditures {
        let beneficiary = party(line.beneficiary)?;
        expenditures.push(IatiTransaction {
            kind: TransactionType::Expenditure,
            reference: beneficiary
                .published
                .then(|| format!("{}-{}", line.report, line.line)),
            date: line.accepted_on,
            value: line.amount,
            value_date: line.accepted_on,
            provider: Counterpart::of(beneficiary),
            receiver: Counterpart {
                reference: None,
                type_code: organisation_type(OrganisationKind::Beneficiary),
                name: format!("Members of the mutual: {}", line.purpose.replace('_', " ")),
            },
        });
    }
    let mut transactions = collector.named;
    transactions.extend(expenditures);
    for ((kind, date, value_date, _, other, incoming), value) in collector.unnamed {
        let (provider, receiver) = if incoming {
            (other, network_party.clone())
        } else {
            (network_party.clone(), other)
        };
        transactions.push(IatiTransaction {
            kind,
            reference: None,
            date,
            value,
            value_date,
            provider,
            receiver,
        });
    }
    transactions.sort_by(|left, right| {
        (left.date, left.kind, &left.reference, left.value.minor()).cmp(&(
            right.date,
            right.kind,
            &right.reference,
            right.value.minor(),
        ))
    });

    let mut participants = vec![(network_party.clone(), "2"), (network_party.clone(), "3")];
    let mut seen = std::collections::BTreeSet::new();
    let counterparts = books
        .pledges
        .iter()
        .map(|pledge| (pledge.contributor, "1"))
        .chain(
            books
                .transfers
                .iter()
                .map(|transfer| (transfer.beneficiary, "4")),
        );
    for (id, role) in counterparts {
        let counterpart = Counterpart::of(party(id)?);
        if seen.insert((counterpart.clone(), role)) {
            participants.push((counterpart, role));
        }
    }
    let programme = &books.programme;
    // The activity started with its first record when the books were back-dated (the first
    // receipt's value date may come before the programme was registered here).
    let started_on = transactions
        .iter()
        .map(|transaction| transaction.date)
        .chain(std::iter::once(books.started_on))
        .min()
        .unwrap_or(books.started_on);
    Ok(IatiActivity {
        identifier: activity_identifier(network, programme),
        reporting: network_party,
        title: programme.name.clone(),
        description: format!(
            "The solidarity euro: northern education unions and mutuals contribute {} per member per {}, pooled by {} and paid whole to southern health mutuals that meet the programme's conditions.",
            programme.rate_per_member,
            programme.period.as_str(),
            network.name
        ),
        participants,
        started_on,
        recipient_countries: recipient_countries(&books.transfers, parties)?,
        default_currency: programme.currency.code(),
        transactions,
        conditions: programme
            .conditions
            .iter()
            .map(|rule| {
                (
                    condition_type(rule.code),
                    condition_text(rule.code, rule.parameter.as_ref()),
                )
            })
            .collect(),
    })
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn datetime(at: Timestamp) -> String {
    at.to_datetime().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn narrative(document: &mut XmlDocument, text: &str) -> Result<(), XmlError> {
    document.leaf("narrative", &[], text)
}

fn organisation_element(
    document: &mut XmlDocument,
    element: &str,
    counterpart: &Counterpart,
    extra: &[(&str, &str)],
) -> Result<(), XmlError> {
    let mut attributes: Vec<(&str, &str)> = Vec::new();
    if let Some(reference) = &counterpart.reference {
        attributes.push(("ref", reference));
    }
    attributes.push(("type", counterpart.type_code));
    attributes.extend_from_slice(extra);
    document.open(element, &attributes)?;
    narrative(document, &counterpart.name)?;
    document.close(element)
}

fn value(
    document: &mut XmlDocument,
    amount: &Amount,
    value_date: NaiveDate,
) -> Result<(), XmlError> {
    document.leaf(
        "value",
        &[
            ("currency", amount.currency().code()),
            ("value-date", &iso(value_date)),
        ],
        &amount.to_decimal_string(),
    )
}

/// The activity file (`iati-activities`) of the given activities.
pub fn activities_file(
    activities: &[IatiActivity],
    generated_at: Timestamp,
) -> Result<Vec<u8>, IatiError> {
    let generated = datetime(generated_at);
    let mut document = XmlDocument::new()?;
    document.open(
        "iati-activities",
        &[
            ("version", IATI_VERSION),
            ("generated-datetime", &generated),
        ],
    )?;
    for activity in activities {
        document.open(
            "iati-activity",
            &[
                ("last-updated-datetime", &generated),
                ("xml:lang", "en"),
                ("default-currency", activity.default_currency),
                ("hierarchy", "1"),
            ],
        )?;
        document.leaf("iati-identifier", &[], &activity.identifier)?;
        organisation_element(&mut document, "reporting-org", &activity.reporting, &[])?;
        document.open("title", &[])?;
        narrative(&mut document, &activity.title)?;
        document.close("title")?;
        document.open("description", &[("type", "1")])?;
        narrative(&mut document, &activity.description)?;
        document.close("description")?;
        for (participant, role) in &activity.participants {
            organisation_element(
                &mut document,
                "participating-org",
                participant,
                &[("role", role)],
            )?;
        }
        document.empty("activity-status", &[("code", "2")])?;
        document.empty(
            "activity-date",
            &[("type", "2"), ("iso-date", &iso(activity.started_on))],
        )?;
        for (country, percentage) in &activity.recipient_countries {
            document.empty(
                "recipient-country",
                &[("code", country), ("percentage", percentage)],
            )?;
        }
        for transaction in &activity.transactions {
            match &transaction.reference {
                Some(reference) => document.open("transaction", &[("ref", reference)])?,
                None => document.open("transaction", &[])?,
            }
            document.empty("transaction-type", &[("code", transaction.kind.code())])?;
            document.empty("transaction-date", &[("iso-date", &iso(transaction.date))])?;
            value(&mut document, &transaction.value, transaction.value_date)?;
            document.open("description", &[])?;
            narrative(&mut document, transaction.kind.description())?;
            document.close("description")?;
            organisation_element(&mut document, "provider-org", &transaction.provider, &[])?;
            organisation_element(&mut document, "receiver-org", &transaction.receiver, &[])?;
            document.close("transaction")?;
        }
        document.open(
            "conditions",
            &[(
                "attached",
                if activity.conditions.is_empty() {
                    "0"
                } else {
                    "1"
                },
            )],
        )?;
        for (type_code, text) in &activity.conditions {
            document.open("condition", &[("type", type_code)])?;
            narrative(&mut document, text)?;
            document.close("condition")?;
        }
        document.close("conditions")?;
        document.close("iati-activity")?;
    }
    document.close("iati-activities")?;
    Ok(document.finish())
}

/// A year's disbursements by activity identifier: the sum and the programme's name.
type ExpenseLines<'a> = BTreeMap<&'a str, (Amount, &'a str)>;

/// The network's organisation file: its identity and, per calendar year, what it disbursed to
/// health mutuals, one expense line per programme.
pub fn organisation_file(
    network: &Organisation,
    programmes: &[(IatiActivity, String)],
    generated_at: Timestamp,
) -> Result<Vec<u8>, IatiError> {
    // Disbursements by (year, currency), then by programme.
    let mut years: BTreeMap<(i32, &'static str), ExpenseLines<'_>> = BTreeMap::new();
    for (activity, name) in programmes {
        for transaction in activity
            .transactions
            .iter()
            .filter(|transaction| transaction.kind == TransactionType::Disbursement)
        {
            let lines = years
                .entry((transaction.date.year(), transaction.value.currency().code()))
                .or_default();
            match lines.get_mut(activity.identifier.as_str()) {
                Some((sum, _)) => *sum = sum.checked_add(transaction.value)?,
                None => {
                    lines.insert(&activity.identifier, (transaction.value, name));
                }
            }
        }
    }
    let generated = datetime(generated_at);
    let reporting = Counterpart::of(&Party {
        organisation: network.clone(),
        published: true,
    });
    let mut document = XmlDocument::new()?;
    document.open(
        "iati-organisations",
        &[
            ("version", IATI_VERSION),
            ("generated-datetime", &generated),
        ],
    )?;
    document.open(
        "iati-organisation",
        &[
            ("last-updated-datetime", &generated),
            ("xml:lang", "en"),
            ("default-currency", network.currency.code()),
        ],
    )?;
    document.leaf(
        "organisation-identifier",
        &[],
        &organisation_reference(network),
    )?;
    document.open("name", &[])?;
    narrative(&mut document, &network.name)?;
    document.close("name")?;
    organisation_element(&mut document, "reporting-org", &reporting, &[])?;
    for ((year, _), lines) in &years {
        let (Some(start), Some(end)) = (
            NaiveDate::from_ymd_opt(*year, 1, 1),
            NaiveDate::from_ymd_opt(*year, 12, 31),
        ) else {
            continue;
        };
        let mut total: Option<Amount> = None;
        for (amount, _) in lines.values() {
            total = Some(match total {
                Some(sum) => sum.checked_add(*amount)?,
                None => *amount,
            });
        }
        let Some(total) = total else { continue };
        document.open("total-expenditure", &[])?;
        document.empty("period-start", &[("iso-date", &iso(start))])?;
        document.empty("period-end", &[("iso-date", &iso(end))])?;
        value(&mut document, &total, start)?;
        for (identifier, (amount, name)) in lines {
            document.open("expense-line", &[("ref", identifier)])?;
            value(&mut document, amount, start)?;
            narrative(
                &mut document,
                &format!("Disbursed to health mutuals: {name}"),
            )?;
            document.close("expense-line")?;
        }
        document.close("total-expenditure")?;
    }
    document.close("iati-organisation")?;
    document.close("iati-organisations")?;
    Ok(document.finish())
}

#[cfg(test)]
#[path = "iati_tests.rs"]
mod tests;
