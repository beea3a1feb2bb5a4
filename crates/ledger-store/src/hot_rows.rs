//! The hot record kinds (accounts, contribution batches and their lines) as column arrays, which
//! PostgreSQL writes inside the writer's single chained-journal statement (`UNNEST` per table;
//! each batch's row takes its lines as slices of flat line arrays), so a group of batch
//! submissions is one round trip. Every other record kind, including any kind
//! added later, takes the generic per-record path of [`crate::records`], unchanged.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::StoreError;
use crate::records::{ContributionBatchRecord, Record, line_kind};

/// True for the kinds written as column arrays.
pub(crate) fn is_hot(record: &Record) -> bool {
    matches!(record, Record::Account(_) | Record::ContributionBatch(_))
}

fn int32(value: usize, what: &str) -> Result<i32, StoreError> {
    i32::try_from(value).map_err(|_| StoreError::Corrupt(format!("too many {what}")))
}

fn int64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} out of range")))
}

/// Columns of `accounts` (their `created_at` is the database's clock, as on the generic path).
#[derive(Debug, Default)]
pub(crate) struct AccountColumns<'a> {
    pub(crate) id: Vec<Uuid>,
    pub(crate) code: Vec<&'a str>,
    pub(crate) name: Vec<&'a str>,
    pub(crate) kind: Vec<&'static str>,
    pub(crate) currency: Vec<&'a str>,
    pub(crate) owner_organisation_id: Vec<Option<Uuid>>,
}

/// Columns of `contribution_batches`.
#[derive(Debug, Default)]
pub(crate) struct BatchColumns<'a> {
    pub(crate) id: Vec<Uuid>,
    pub(crate) programme_id: Vec<Uuid>,
    pub(crate) contributor_id: Vec<Uuid>,
    pub(crate) period: Vec<String>,
    pub(crate) earmark_beneficiary_id: Vec<Option<Uuid>>,
    pub(crate) currency: Vec<&'a str>,
    pub(crate) members_total: Vec<i64>,
    pub(crate) amount_minor: Vec<i64>,
    pub(crate) solidarity_minor: Vec<i64>,
    pub(crate) donation_minor: Vec<i64>,
    pub(crate) line_count: Vec<i32>,
    pub(crate) receivable_account_id: Vec<Uuid>,
    pub(crate) pledge_transaction_id: Vec<Uuid>,
    pub(crate) submitted_by: Vec<&'a str>,
    pub(crate) created_at: Vec<DateTime<Utc>>,
    pub(crate) creditor_reference: Vec<&'a str>,
    /// Where the batch's lines are in [`LineColumns`]: 1-based positions of its first and last
    /// line, as PostgreSQL's array slices take them (`first > last` for a batch without lines).
    pub(crate) first_line: Vec<i32>,
    pub(crate) last_line: Vec<i32>,
}

/// Every line of the group's batches, flat, in order; PostgreSQL gathers them into their batch's row.
#[derive(Debug, Default)]
pub(crate) struct LineColumns<'a> {
    pub(crate) reference: Vec<&'a str>,
    pub(crate) members: Vec<i64>,
    pub(crate) amount_minor: Vec<i64>,
    pub(crate) kind: Vec<&'static str>,
}

/// The hot rows of a group.
#[derive(Debug, Default)]
pub(crate) struct HotRows<'a> {
    pub(crate) accounts: AccountColumns<'a>,
    pub(crate) batches: BatchColumns<'a>,
    pub(crate) lines: LineColumns<'a>,
}

/// Splits a group's records into the hot rows and the rest, which keep their order.
pub(crate) fn split<'a>(
    records: &[&'a Record],
) -> Result<(HotRows<'a>, Vec<&'a Record>), StoreError> {
    let mut hot = HotRows::default();
    let mut generic = Vec::new();
    // Two requests may open the same account (ids derive from codes): one row is enough, and the
    // insert skips codes that already exist.
    let mut account_codes = HashSet::new();
    for record in records {
        match record {
            Record::Account(account) => {
                if account_codes.insert(account.code.as_str()) {
                    let columns = &mut hot.accounts;
                    columns.id.push(account.id.as_uuid());
                    columns.code.push(account.code.as_str());
                    columns.name.push(&account.name);
                    columns.kind.push(account.kind.as_str());
                    columns.currency.push(account.currency.code());
                    columns.owner_organisation_id.push(
                        account
                            .owner_organisation
                            .map(|organisation| organisation.as_uuid()),
                    );
                }
            }
            Record::ContributionBatch(batch) => push_batch(&mut hot, batch)?,
            other => generic.push(*other),
        }
    }
    Ok((hot, generic))
}

fn push_batch<'a>(
    hot: &mut HotRows<'a>,
    batch: &'a ContributionBatchRecord,
) -> Result<(), StoreError> {
    let columns = &mut hot.batches;
    columns.id.push(batch.id);
    columns.programme_id.push(batch.programme_id);
    columns.contributor_id.push(batch.contributor_id.as_uuid());
    columns.period.push(batch.period.to_string());
    columns.earmark_beneficiary_id.push(
        batch
            .earmark_beneficiary_id
            .map(|organisation| organisation.as_uuid()),
    );
    columns.currency.push(&batch.currency);
    columns
        .members_total
        .push(int64(batch.members_total, "members")?);
    columns.amount_minor.push(batch.amount_minor);
    columns.solidarity_minor.push(batch.solidarity_minor);
    columns.donation_minor.push(batch.donation_minor);
    columns.line_count.push(int32(batch.lines.len(), "lines")?);
    columns
        .receivable_account_id
        .push(batch.receivable_account_id.as_uuid());
    columns
        .pledge_transaction_id
        .push(batch.pledge_transaction_id.as_uuid());
    columns.submitted_by.push(&batch.submitted_by);
    columns.created_at.push(batch.created_at.to_datetime());
    columns.creditor_reference.push(&batch.creditor_reference);
    let lines = &mut hot.lines;
    let count = batch.lines.len();
    columns
        .first_line
        .push(int32(lines.reference.len() + 1, "lines")?);
    columns
        .last_line
        .push(int32(lines.reference.len() + count, "lines")?);
    lines.reference.reserve(count);
    lines.members.reserve(count);
    lines.amount_minor.reserve(count);
    lines.kind.reserve(count);
    for line in &batch.lines {
        lines.reference.push(&line.reference);
        lines.members.push(int64(line.members, "members")?);
        lines.amount_minor.push(line.amount.minor());
        lines.kind.push(line_kind(line.kind));
    }
    Ok(())
}
