//! Tests of the IATI builder: who is named, what is summed, which codes are written.

use super::*;
use crate::money::Currency;
use crate::organisation::{AllocationPolicy, ConditionRule, Slug};
use crate::period::PeriodKind;

fn organisation(number: u128, slug: &str, kind: OrganisationKind) -> Organisation {
    Organisation {
        id: OrganisationId::from_uuid(Uuid::from_u128(number)),
        slug: Slug::parse(slug).unwrap(),
        name: slug.to_uppercase(),
        kind,
        country: "FR".into(),
        currency: Currency::eur(),
        covered_members: None,
        registry_identifier: (kind == OrganisationKind::Network)
            .then(|| "FR-RNA-W751234567".into()),
    }
}

fn eur(minor: i64) -> Amount {
    Amount::from_minor(minor, Currency::eur()).unwrap()
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// Two unions (one published, one not), one mutual, a pledge each on the same day, a receipt,
/// a settled transfer and one accepted line.
fn books() -> (
    Organisation,
    ProgrammeBooks,
    BTreeMap<OrganisationId, Party>,
) {
    let network = organisation(1, "network", OrganisationKind::Network);
    let named = organisation(2, "csq", OrganisationKind::Contributor);
    let hidden = organisation(3, "mgen", OrganisationKind::Contributor);
    let hidden_too = organisation(5, "fsu", OrganisationKind::Contributor);
    let mutual = organisation(4, "mesp", OrganisationKind::Beneficiary);
    let pledge = |batch: u128, who: &Organisation, minor| PledgeRecord {
        batch: Uuid::from_u128(batch),
        contributor: who.id,
        date: day("2026-03-01"),
        amount: eur(minor),
    };
    let books = ProgrammeBooks {
        programme: Programme {
            id: Uuid::from_u128(99),
            name: "Solidarity euro".into(),
            currency: Currency::eur(),
            rate_per_member: eur(100),
            period: PeriodKind::Month,
            allocation: AllocationPolicy::ProRataCoveredMembers,
            conditions: vec![
                ConditionRule {
                    code: ConditionCode::MutualOperational,
                    parameter: None,
                },
                ConditionRule {
                    code: ConditionCode::AdminCostCap,
                    parameter: Some(rust_decimal::Decimal::from(15)),
                },
            ],
            minimum_transfer: eur(100),
            admin_cost_cap_percent: rust_decimal::Decimal::from(15),
        },
        started_on: day("2026-04-01"),
        pledges: vec![
            pledge(10, &named, 1_000),
            pledge(11, &hidden, 2_000),
            pledge(12, &hidden_too, 3_000),
        ],
        receipts: vec![ReceiptRecord {
            receipt: Uuid::from_u128(20),
            contributor: hidden.id,
            value_date: day("2026-03-05"),
            amount: eur(2_000),
        }],
        transfers: vec![TransferRecord {
            transfer: Uuid::from_u128(30),
            beneficiary: mutual.id,
            executed_on: day("2026-04-02"),
            amount: eur(5_500),
            settled_on: Some(day("2026-04-09")),
        }],
        expenditures: vec![ExpenditureRecord {
            report: Uuid::from_u128(40),
            line: 0,
            beneficiary: mutual.id,
            accepted_on: day("2026-05-01"),
            purpose: "premium_subsidy".into(),
            amount: Amount::from_minor(360_000, Currency::from_code("XOF").unwrap()).unwrap(),
        }],
    };
    let parties = [
        (named, true),
        (hidden, false),
        (hidden_too, false),
        (mutual, true),
    ]
    .into_iter()
    .map(|(organisation, published)| {
        (
            organisation.id,
            Party {
                organisation,
                published,
            },
        )
    })
    .collect();
    (network, books, parties)
}

#[test]
fn unpublished_organisations_are_summed_unnamed_and_published_ones_are_one_transaction_each() {
    // Proves the publication rule's effect: the two unnamed unions' same-day pledges become one
    // transaction of their sum with no reference, the named union keeps its own with its
    // identifier, every record of a named mutual is its own transaction, and nothing is lost.
    let (network, books, parties) = books();
    let activity = programme_activity(&network, &books, &parties).unwrap();
    let pledges: Vec<&IatiTransaction> = activity
        .transactions
        .iter()
        .filter(|transaction| transaction.kind == TransactionType::IncomingCommitment)
        .collect();
    assert_eq!(pledges.len(), 2);
    let unnamed = pledges
        .iter()
        .find(|pledge| pledge.reference.is_none())
        .unwrap();
    assert_eq!(unnamed.value, eur(5_000));
    assert_eq!(unnamed.provider.reference, None);
    assert!(!unnamed.provider.name.contains("MGEN"));
    let named = pledges
        .iter()
        .find(|pledge| pledge.reference.is_some())
        .unwrap();
    assert_eq!(named.value, eur(1_000));
    assert_eq!(
        named.provider.reference.as_deref(),
        Some("XX-UNREGISTERED-csq")
    );
    assert_eq!(
        named.receiver.reference.as_deref(),
        Some("FR-RNA-W751234567")
    );
    let kinds: Vec<&str> = activity
        .transactions
        .iter()
        .map(|t| t.kind.code())
        .collect();
    assert_eq!(kinds, ["11", "11", "1", "2", "3", "4"]);
    let disbursement = &activity.transactions[4];
    assert_eq!(
        (disbursement.date, disbursement.value),
        (day("2026-04-09"), eur(5_500))
    );
    assert_eq!(activity.transactions[5].value.currency().code(), "XOF");
    // The activity started with its first record, before the programme was registered.
    assert_eq!(activity.started_on, day("2026-03-01"));
    assert_eq!(
        activity.identifier,
        format!("FR-RNA-W751234567-{}", Uuid::from_u128(99))
    );
    let participants: Vec<(Option<&str>, &str)> = activity
        .participants
        .iter()
        .map(|(counterpart, role)| (counterpart.reference.as_deref(), *role))
        .collect();
    assert_eq!(
        participants,
        [
            (Some("FR-RNA-W751234567"), "2"),
            (Some("FR-RNA-W751234567"), "3"),
            (Some("XX-UNREGISTERED-csq"), "1"),
            (None, "1"),
            (Some("XX-UNREGISTERED-mesp"), "4"),
        ]
    );
}

#[test]
fn conditions_take_their_iati_type_and_the_file_carries_them() {
    // Proves each redistribution condition maps to an IATI ConditionType (policy, performance,
    // fiduciary) and is written in <conditions attached="1">, with its parameter.
    assert_eq!(condition_type(ConditionCode::MutualOperational), "2");
    assert_eq!(condition_type(ConditionCode::ContributionRatesDefined), "1");
    assert_eq!(condition_type(ConditionCode::LocalCofinancing), "2");
    assert_eq!(condition_type(ConditionCode::PublicCofinancing), "1");
    assert_eq!(condition_type(ConditionCode::ReportingUpToDate), "3");
    assert_eq!(condition_type(ConditionCode::AdminCostCap), "3");
    assert_eq!(condition_type(ConditionCode::Governance), "1");
    let (network, books, parties) = books();
    let activity = programme_activity(&network, &books, &parties).unwrap();
    let generated = Timestamp::parse("2026-06-01T08:00:00Z").unwrap();
    let text = String::from_utf8(activities_file(&[activity], generated).unwrap()).unwrap();
    assert!(text.contains(r#"<conditions attached="1">"#), "{text}");
    assert!(text.contains(r#"<condition type="3">"#));
    assert!(text.contains("administration stays within this % of the redistributed funds: 15."));
    assert!(text.contains(r#"<value currency="XOF" value-date="2026-05-01">360000</value>"#));
    assert!(text.contains(r#"<transaction-type code="11"/>"#));
}

#[test]
fn a_transaction_naming_an_unknown_organisation_is_refused() {
    // Proves the builder never writes a counterpart it cannot decide about (publish or not).
    let (network, books, mut parties) = books();
    parties.retain(|_, party| party.organisation.kind != OrganisationKind::Beneficiary);
    assert!(matches!(
        programme_activity(&network, &books, &parties),
        Err(IatiError::UnknownOrganisation(_))
    ));
}

#[test]
fn recipient_countries_share_the_commitments_and_sum_to_exactly_one_hundred() {
    // Proves each beneficiary's country gets its share of the outgoing commitments, two mutuals
    // of one country are one country, thirds round to 33.33/33.33/33.34 (never 99.99), and an
    // activity with no commitment names no country; the file writes them after the dates.
    let (network, mut books, mut parties) = books();
    let mut other = |number: u128, slug: &str, country: &str| {
        let mut organisation = organisation(number, slug, OrganisationKind::Beneficiary);
        organisation.country = country.into();
        let id = organisation.id;
        parties.insert(
            id,
            Party {
                organisation,
                published: true,
            },
        );
        id
    };
    let burkina = other(6, "mutuelle-bf", "BF");
    let burkina_too = other(7, "mutuelle-bf-2", "bf");
    let congo = other(8, "mesp-cd", "CD");
    let transfer = |number: u128, beneficiary, minor| TransferRecord {
        transfer: Uuid::from_u128(number),
        beneficiary,
        executed_on: day("2026-04-02"),
        amount: eur(minor),
        settled_on: None,
    };
    // The fixture's mutual is registered in FR: 5,500 of 16,500 is a third, as are BF's two
    // transfers together and CD's one.
    books.transfers.push(transfer(31, burkina, 2_500));
    books.transfers.push(transfer(32, burkina_too, 3_000));
    books.transfers.push(transfer(33, congo, 5_500));
    let countries = recipient_countries(&books.transfers, &parties).unwrap();
    assert_eq!(
        countries,
        vec![
            ("BF".to_owned(), "33.34".to_owned()),
            ("CD".to_owned(), "33.33".to_owned()),
            ("FR".to_owned(), "33.33".to_owned()),
        ]
    );
    assert_eq!(
        recipient_countries(&[], &parties).unwrap(),
        Vec::<(String, String)>::new()
    );
    let activity = programme_activity(&network, &books, &parties).unwrap();
    assert_eq!(activity.recipient_countries, countries);
    let generated = Timestamp::parse("2026-06-01T08:00:00Z").unwrap();
    let text = String::from_utf8(activities_file(&[activity], generated).unwrap()).unwrap();
    let dates = text.find("<activity-date").unwrap();
    let country = text
        .find(r#"<recipient-country code="BF" percentage="33.34"/>"#)
        .unwrap();
    let first_transaction = text.find("<transaction").unwrap();
    assert!(dates < country && country < first_transaction, "{text}");
}

#[test]
fn an_organisation_identifier_has_an_agency_prefix_and_no_stray_characters() {
    // Proves a configured IATI identifier is checked before any file names it: an agency prefix
    // and a number, only letters, digits, '-', '.', '_'.
    assert_eq!(
        checked_organisation_identifier(" FR-RNA-W751234567 ").unwrap(),
        "FR-RNA-W751234567"
    );
    assert!(checked_organisation_identifier("XM-DAC-41114").is_ok());
    for wrong in [
        "",
        "W751234567",
        "FR-RNA",
        "fr-RNA-W751234567",
        "FR-RNA-W75 1234567",
        "FR-RNA-W751/234567",
        "FRA-RNA-1",
        &format!("FR-RNA-{}", "1".repeat(100)),
    ] {
        assert!(checked_organisation_identifier(wrong).is_err(), "{wrong:?}");
    }
}
