//! Fee coverage, transfer runs (plan and execution), transfers and their confirmation, disputes
//! and the return of held funds.

pub mod fee_schedule;
