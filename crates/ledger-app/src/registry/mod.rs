//! The registry: organisations (contributors, beneficiaries, the network, auditors) and
//! programmes, registered by the network and read by every role; the fee schedules given with
//! them; organisations' details and programmes' rules as versions.

mod checks;
mod fee_schedules;
mod organisation_versions;
mod organisations;
mod programme_versions;
mod programmes;

pub use fee_schedules::{FeeScheduleBody, fee_schedule_record};
pub use organisation_versions::{
    ChangeOrganisation, ChangeOrganisationBody, Details, FeeScheduleView, MAX_CONTACT_LENGTH,
    OrganisationHistory, OrganisationHistoryView, OrganisationVersionView, details_on,
};
pub use organisations::{
    CreateOrganisation, ListOrganisations, OrganisationView, ReadOrganisation, RegisterOrganisation,
};
pub use programme_versions::{
    ChangeProgramme, ChangeProgrammeBody, ProgrammeHistory, ProgrammeHistoryView,
    ProgrammeVersionView, programme_at_version, programme_for_period, rules_in_force,
};
pub use programmes::{
    ConditionInput, CreateProgramme, ListProgrammes, OpenProgramme, ProgrammeBalances,
    ProgrammeView, ReadProgramme,
};
