//! The registry: organisations (contributors, beneficiaries, the network, auditors) and
//! programmes, registered by the network and read by every role; the fee schedules given with
//! them.

mod checks;
mod fee_schedules;
mod organisations;
mod programmes;

pub use fee_schedules::{FeeScheduleBody, fee_schedule_record};
pub use organisations::{
    CreateOrganisation, ListOrganisations, OrganisationView, ReadOrganisation, RegisterOrganisation,
};
pub use programmes::{
    ConditionInput, CreateProgramme, ListProgrammes, OpenProgramme, ProgrammeBalances,
    ProgrammeView, ReadProgramme,
};
