//! How the writer inserts [`Record`]s, on each engine: one statement per row on SQLite, a
//! batch's lines as arrays on PostgreSQL.

use sqlx::{PgConnection, SqliteConnection};

use super::{ContributionBatchRecord, Record, line_kind};
use crate::error::StoreError;

fn i64_of(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} out of range")))
}
/// Inserts the records that must precede (`before_journal`) or follow the journal rows.
macro_rules! insert_records {
    ($name:ident, $connection:ty, $insert_batch:ident, $now:literal) => {
        pub(crate) async fn $name(
            connection: &mut $connection,
            records: &[&Record],
            before_journal: bool,
        ) -> Result<(), StoreError> {
            for record in records.iter().filter(|record| record.before_journal() == before_journal) {
                match record {
                    Record::Account(account) => {
                        sqlx::query(
                            concat!("INSERT INTO accounts (id, code, name, kind, currency, owner_organisation_id, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, ", $now, ") ON CONFLICT (code) DO NOTHING"),
                        )
                        .bind(account.id.as_uuid())
                        .bind(account.code.as_str())
                        .bind(&account.name)
                        .bind(account.kind.as_str())
                        .bind(account.currency.code())
                        .bind(account.owner_organisation.map(|organisation| organisation.as_uuid()))
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::Organisation(organisation) => {
                        sqlx::query(
                            concat!("INSERT INTO organisations (id, slug, name, kind, country, currency, covered_members, \
                             registry_identifier, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ", $now, ")"),
                        )
                        .bind(organisation.id.as_uuid())
                        .bind(organisation.slug.as_str())
                        .bind(&organisation.name)
                        .bind(organisation.kind.as_str())
                        .bind(&organisation.country)
                        .bind(organisation.currency.code())
                        .bind(organisation.covered_members.map(|members| i64_of(members, "covered members")).transpose()?)
                        .bind(&organisation.registry_identifier)
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::Programme(programme) => {
                        let allocation = serde_json::to_string(&programme.allocation)
                            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
                        let conditions = serde_json::to_string(&programme.conditions)
                            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
                        sqlx::query(
                            concat!("INSERT INTO programmes (id, name, currency, rate_per_member_minor, period_kind, allocation, \
                             conditions, minimum_transfer_minor, admin_cost_cap_percent, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, ", $now, ")"),
                        )
                        .bind(programme.id)
                        .bind(&programme.name)
                        .bind(programme.currency.code())
                        .bind(programme.rate_per_member.minor())
                        .bind(programme.period.as_str())
                        .bind(allocation)
                        .bind(conditions)
                        .bind(programme.minimum_transfer.minor())
                        .bind(programme.admin_cost_cap_percent.to_string())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::ContributionBatch(batch) => $insert_batch(connection, batch).await?,
                    Record::BatchReceipt(receipt) => {
                        let (original_minor, original_currency, original_rate) = match &receipt.original {
                            Some((minor, currency, rate)) => (Some(*minor), Some(currency.as_str()), Some(rate.as_str())),
                            None => (None, None, None),
                        };
                        sqlx::query(
                            "INSERT INTO batch_receipts (id, batch_id, amount_minor, overpayment_minor, value_date, \
                             bank_reference, transaction_id, recorded_by, created_at, original_amount_minor, \
                             original_currency, original_rate) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                        )
                        .bind(receipt.id)
                        .bind(receipt.batch_id)
                        .bind(receipt.amount_minor)
                        .bind(receipt.overpayment_minor)
                        .bind(receipt.value_date.naive())
                        .bind(&receipt.bank_reference)
                        .bind(receipt.transaction_id.as_uuid())
                        .bind(&receipt.recorded_by)
                        .bind(receipt.created_at.to_datetime())
                        .bind(original_minor)
                        .bind(original_currency)
                        .bind(original_rate)
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::BankStatement(statement) => {
                        sqlx::query(
                            "INSERT INTO bank_statements (id, statement_id, account, account_kind, camt_version, message_id, \
                             currency, entries_count, document_sha256, imported_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                        )
                        .bind(statement.id)
                        .bind(&statement.statement_id)
                        .bind(&statement.account)
                        .bind(statement.account_kind)
                        .bind(statement.camt_version)
                        .bind(&statement.message_id)
                        .bind(&statement.currency)
                        .bind(statement.entries_count)
                        .bind(&statement.document_sha256)
                        .bind(&statement.imported_by)
                        .bind(statement.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::BankStatementEntry(entry) => {
                        sqlx::query(
                            "INSERT INTO bank_statement_entries (id, bank_statement_id, line_number, direction, amount_minor, \
                             currency, entry_status, booking_date, value_date, entry_reference, account_servicer_reference, \
                             bank_transaction_code, charges_minor, transactions, end_to_end_id, creditor_reference, debtor_name, \
                             outcome, outcome_detail, batch_receipt_id, transfer_id, charge_transaction_id, created_at, outcome_code) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
                             $21, $22, $23, $24)",
                        )
                        .bind(entry.id)
                        .bind(entry.bank_statement_id)
                        .bind(entry.line_number)
                        .bind(entry.direction)
                        .bind(entry.amount_minor)
                        .bind(&entry.currency)
                        .bind(&entry.entry_status)
                        .bind(entry.booking_date.map(|date| date.naive()))
                        .bind(entry.value_date.map(|date| date.naive()))
                        .bind(&entry.entry_reference)
                        .bind(&entry.account_servicer_reference)
                        .bind(&entry.bank_transaction_code)
                        .bind(entry.charges_minor)
                        .bind(&entry.transactions)
                        .bind(&entry.end_to_end_id)
                        .bind(&entry.creditor_reference)
                        .bind(&entry.debtor_name)
                        .bind(entry.outcome)
                        .bind(&entry.outcome_detail)
                        .bind(entry.batch_receipt_id)
                        .bind(entry.transfer_id)
                        .bind(entry.charge_transaction_id.map(|id| id.as_uuid()))
                        .bind(entry.created_at.to_datetime())
                        .bind(entry.outcome_code)
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::BankStatementEntryDecision(decision) => {
                        sqlx::query(
                            "INSERT INTO bank_statement_entry_decisions (entry_id, decision, batch_receipt_id, reason, \
                             decided_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(decision.entry_id)
                        .bind(decision.decision)
                        .bind(decision.batch_receipt_id)
                        .bind(&decision.reason)
                        .bind(&decision.decided_by)
                        .bind(decision.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::BatchReversal(reversal) => {
                        sqlx::query(
                            "INSERT INTO batch_reversals (batch_id, reason, transaction_id, recorded_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(reversal.batch_id)
                        .bind(&reversal.reason)
                        .bind(reversal.transaction_id.as_uuid())
                        .bind(&reversal.recorded_by)
                        .bind(reversal.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::OrganisationVersion(version) => {
                        let (fee_fixed, fee_currency, fee_percent) = match &version.fee_schedule {
                            Some((fixed, currency, percent)) => (Some(*fixed), Some(currency.as_str()), Some(percent.as_str())),
                            None => (None, None, None),
                        };
                        sqlx::query(
                            "INSERT INTO organisation_versions (organisation_id, version_number, effective_from, name, contact, \
                             covered_members, fee_fixed_minor, fee_currency, fee_percent, changed_fields, changed_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                        )
                        .bind(version.organisation_id.as_uuid())
                        .bind(version.version_number)
                        .bind(version.effective_from.naive())
                        .bind(&version.name)
                        .bind(&version.contact)
                        .bind(version.covered_members)
                        .bind(fee_fixed)
                        .bind(fee_currency)
                        .bind(fee_percent)
                        .bind(version.changed_fields.join(","))
                        .bind(&version.changed_by)
                        .bind(version.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::BankAccount(account) => {
                        sqlx::query(
                            "INSERT INTO bank_accounts (organisation_id, version_number, holder_name, iban, account_number, bic, \
                             currency, proposed_by, approved_by, proposal_id, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                        )
                        .bind(account.organisation_id.as_uuid())
                        .bind(account.version_number)
                        .bind(&account.holder_name)
                        .bind(&account.iban)
                        .bind(&account.account_number)
                        .bind(&account.bic)
                        .bind(&account.currency)
                        .bind(&account.proposed_by)
                        .bind(&account.approved_by)
                        .bind(account.proposal_id)
                        .bind(account.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::ProgrammeVersion(version) => {
                        let allocation = serde_json::to_string(&version.allocation)
                            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
                        let conditions = serde_json::to_string(&version.conditions)
                            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
                        sqlx::query(
                            "INSERT INTO programme_versions (programme_id, version_number, effective_period, effective_from, \
                             allocation, conditions, minimum_transfer_minor, admin_cost_cap_percent, changed_fields, changed_by, \
                             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                        )
                        .bind(version.programme_id)
                        .bind(version.version_number)
                        .bind(&version.effective_period)
                        .bind(version.effective_from.naive())
                        .bind(allocation)
                        .bind(conditions)
                        .bind(version.minimum_transfer_minor)
                        .bind(&version.admin_cost_cap_percent)
                        .bind(version.changed_fields.join(","))
                        .bind(&version.changed_by)
                        .bind(version.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::EvidenceDocument(document) => {
                        sqlx::query(
                            "INSERT INTO evidence_documents (sha256, media_type, size_bytes, content, created_at) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING",
                        )
                        .bind(&document.sha256)
                        .bind(document.media_type)
                        .bind(i64_of(document.content.len() as u64, "document size")?)
                        .bind(&document.content)
                        .bind(document.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::Fact(fact) => {
                        sqlx::query(
                            "INSERT INTO organisation_facts (id, organisation_id, code, value, as_of, evidence_reference, \
                             posted_status, evidence_sha256, recorded_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                        )
                        .bind(fact.id)
                        .bind(fact.organisation_id.as_uuid())
                        .bind(&fact.code)
                        .bind(&fact.value)
                        .bind(fact.as_of.naive())
                        .bind(&fact.evidence_reference)
                        .bind(fact.posted_status.as_str())
                        .bind(&fact.evidence_sha256)
                        .bind(&fact.recorded_by)
                        .bind(fact.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::FactDecision(decision) => {
                        sqlx::query(
                            "INSERT INTO fact_decisions (fact_id, decision, reason, decided_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(decision.fact_id)
                        .bind(decision.decision.as_str())
                        .bind(&decision.reason)
                        .bind(&decision.decided_by)
                        .bind(decision.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::FeeSchedule(schedule) => {
                        sqlx::query(
                            "INSERT INTO fee_schedules (owner_id, fixed_minor, currency, percent, created_at) \
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(schedule.owner_id)
                        .bind(schedule.fixed_minor)
                        .bind(&schedule.currency)
                        .bind(&schedule.percent)
                        .bind(schedule.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::FeeCoverageDeposit(deposit) => {
                        sqlx::query(
                            "INSERT INTO fee_coverage_deposits (id, amount_minor, currency, reference, transaction_id, \
                             recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(deposit.id)
                        .bind(deposit.amount_minor)
                        .bind(&deposit.currency)
                        .bind(&deposit.reference)
                        .bind(deposit.transaction_id.as_uuid())
                        .bind(&deposit.recorded_by)
                        .bind(deposit.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::TransferRun(run) => {
                        sqlx::query(
                            "INSERT INTO transfer_runs (id, programme_id, period, as_of, plan, fingerprint, planned_by, \
                             created_at, programme_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        )
                        .bind(run.id)
                        .bind(run.programme_id)
                        .bind(&run.period)
                        .bind(run.as_of)
                        .bind(&run.plan)
                        .bind(&run.fingerprint)
                        .bind(&run.planned_by)
                        .bind(run.created_at.to_datetime())
                        .bind(run.programme_version)
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::TransferRunExecution(execution) => {
                        sqlx::query(
                            "INSERT INTO transfer_run_executions (run_id, transaction_id, executed_by, created_at) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(execution.run_id)
                        .bind(execution.transaction_id.as_uuid())
                        .bind(&execution.executed_by)
                        .bind(execution.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::Transfer(transfer) => {
                        sqlx::query(
                            "INSERT INTO transfers (id, kind, run_id, root_transfer_id, parent_transfer_id, programme_id, \
                             beneficiary_id, period, amount_minor, currency, fee_minor, local_currency, rate, rate_source, \
                             expected_local_minor, residue_minor, end_to_end_id, in_transit_account_id, transaction_id, \
                             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                             $15, $16, $17, $18, $19, $20, $21)",
                        )
                        .bind(transfer.id)
                        .bind(transfer.kind)
                        .bind(transfer.run_id)
                        .bind(transfer.root_transfer_id)
                        .bind(transfer.parent_transfer_id)
                        .bind(transfer.programme_id)
                        .bind(transfer.beneficiary_id.as_uuid())
                        .bind(&transfer.period)
                        .bind(transfer.amount_minor)
                        .bind(&transfer.currency)
                        .bind(transfer.fee_minor)
                        .bind(&transfer.local_currency)
                        .bind(&transfer.rate)
                        .bind(&transfer.rate_source)
                        .bind(transfer.expected_local_minor)
                        .bind(&transfer.residue_minor)
                        .bind(&transfer.end_to_end_id)
                        .bind(transfer.in_transit_account_id.as_uuid())
                        .bind(transfer.transaction_id.as_uuid())
                        .bind(&transfer.created_by)
                        .bind(transfer.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::TransferConfirmation(confirmation) => {
                        sqlx::query(
                            "INSERT INTO transfer_confirmations (transfer_id, received_minor, received_currency, value_date, \
                             bank_reference, fees_deducted_minor, shortfall_minor, surplus_minor, top_up_transfer_id, \
                             transaction_id, confirmed_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                        )
                        .bind(confirmation.transfer_id)
                        .bind(confirmation.received_minor)
                        .bind(&confirmation.received_currency)
                        .bind(confirmation.value_date.naive())
                        .bind(&confirmation.bank_reference)
                        .bind(confirmation.fees_deducted_minor)
                        .bind(confirmation.shortfall_minor)
                        .bind(confirmation.surplus_minor)
                        .bind(confirmation.top_up_transfer_id)
                        .bind(confirmation.transaction_id.as_uuid())
                        .bind(&confirmation.confirmed_by)
                        .bind(confirmation.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::TransferDispute(dispute) => {
                        sqlx::query(
                            "INSERT INTO transfer_disputes (id, transfer_id, claim_number, received_minor, received_currency, \
                             value_date, bank_reference, fees_deducted_minor, shortfall_minor, top_up_minor, already_paid_minor, \
                             allowance_minor, currency, claimed_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                        )
                        .bind(dispute.id)
                        .bind(dispute.transfer_id)
                        .bind(dispute.claim_number)
                        .bind(dispute.received_minor)
                        .bind(&dispute.received_currency)
                        .bind(dispute.value_date.naive())
                        .bind(&dispute.bank_reference)
                        .bind(dispute.fees_deducted_minor)
                        .bind(dispute.shortfall_minor)
                        .bind(dispute.top_up_minor)
                        .bind(dispute.already_paid_minor)
                        .bind(dispute.allowance_minor)
                        .bind(&dispute.currency)
                        .bind(&dispute.claimed_by)
                        .bind(dispute.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::TransferDisputeResolution(resolution) => {
                        sqlx::query(
                            "INSERT INTO transfer_dispute_resolutions (dispute_id, decision, established_minor, \
                             bank_statement_reference, reason, transaction_id, top_up_transfer_id, resolved_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        )
                        .bind(resolution.dispute_id)
                        .bind(resolution.decision)
                        .bind(resolution.established_minor)
                        .bind(&resolution.bank_statement_reference)
                        .bind(&resolution.reason)
                        .bind(resolution.transaction_id.map(|id| id.as_uuid()))
                        .bind(resolution.top_up_transfer_id)
                        .bind(&resolution.resolved_by)
                        .bind(resolution.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::RedistributionReport(report) => {
                        sqlx::query(
                            "INSERT INTO redistribution_reports (id, beneficiary_id, period, currency, total_minor, \
                             administration_minor, notes, submitted_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        )
                        .bind(report.id)
                        .bind(report.beneficiary_id.as_uuid())
                        .bind(&report.period)
                        .bind(&report.currency)
                        .bind(report.total_minor)
                        .bind(report.administration_minor)
                        .bind(&report.notes)
                        .bind(&report.submitted_by)
                        .bind(report.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                        for (index, (purpose, amount_minor, members_count)) in report.lines.iter().enumerate() {
                            sqlx::query(
                                "INSERT INTO redistribution_report_lines (report_id, line_index, purpose, amount_minor, \
                                 members_count) VALUES ($1, $2, $3, $4, $5)",
                            )
                            .bind(report.id)
                            .bind(i32::try_from(index).map_err(|_| StoreError::Corrupt("too many lines".into()))?)
                            .bind(purpose)
                            .bind(amount_minor)
                            .bind(members_count)
                            .execute(&mut *connection)
                            .await?;
                        }
                    }
                    Record::ReportDecision(decision) => {
                        sqlx::query(
                            "INSERT INTO redistribution_report_decisions (report_id, decision, reason, transaction_id, \
                             decided_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(decision.report_id)
                        .bind(decision.decision)
                        .bind(&decision.reason)
                        .bind(decision.transaction_id.map(|id| id.as_uuid()))
                        .bind(&decision.decided_by)
                        .bind(decision.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::ReportReversal(reversal) => {
                        sqlx::query(
                            "INSERT INTO redistribution_report_reversals (report_id, reason, transaction_id, reversed_by, \
                             created_at) VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(reversal.report_id)
                        .bind(&reversal.reason)
                        .bind(reversal.transaction_id.as_uuid())
                        .bind(&reversal.reversed_by)
                        .bind(reversal.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::PublicationChoice(choice) => {
                        sqlx::query(
                            "INSERT INTO publication_choices (id, organisation_id, published, chosen_by, chosen_at) \
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(choice.id)
                        .bind(choice.organisation_id.as_uuid())
                        .bind(choice.published)
                        .bind(&choice.chosen_by)
                        .bind(choice.chosen_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                }
            }
            Ok(())
        }
    };
}

// Registry rows take the database's clock: their creation time is informative, never hashed.
insert_records!(
    insert_records_sqlite,
    SqliteConnection,
    insert_batch_sqlite,
    "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
);
insert_records!(
    insert_records_postgres,
    PgConnection,
    insert_batch_postgres,
    "CURRENT_TIMESTAMP"
);

/// The columns of `contribution_batches` both engines share, in the order [`bind_batch`] binds them.
macro_rules! batch_columns {
    () => {
        "id, programme_id, contributor_id, period, earmark_beneficiary_id, currency, members_total, \
         amount_minor, solidarity_minor, donation_minor, line_count, receivable_account_id, \
         pledge_transaction_id, submitted_by, created_at, creditor_reference"
    };
}

/// A batch's place in its period and the period's running total, read from the period's latest
/// batch (`$2` programme, `$3` contributor, `$4` period, `$8` the batch's amount): the writer holds
/// the lock that serialises writes, so no other batch can take the same place meanwhile.
macro_rules! period_place {
    () => {
        "COALESCE((SELECT p.period_ordinal FROM contribution_batches p WHERE p.contributor_id = $3 \
           AND p.programme_id = $2 AND p.period = $4 ORDER BY p.period_ordinal DESC LIMIT 1), 0) + 1, \
         COALESCE((SELECT p.period_total_minor FROM contribution_batches p WHERE p.contributor_id = $3 \
           AND p.programme_id = $2 AND p.period = $4 ORDER BY p.period_ordinal DESC LIMIT 1), 0) + $8"
    };
}

/// Binds a batch's row in the order of [`batch_columns`].
macro_rules! bind_batch {
    ($query:expr, $batch:expr) => {
        $query
            .bind($batch.id)
            .bind($batch.programme_id)
            .bind($batch.contributor_id.as_uuid())
            .bind($batch.period.to_string())
            .bind(
                $batch
                    .earmark_beneficiary_id
                    .map(|organisation| organisation.as_uuid()),
            )
            .bind(&$batch.currency)
            .bind(i64_of($batch.members_total, "members")?)
            .bind($batch.amount_minor)
            .bind($batch.solidarity_minor)
            .bind($batch.donation_minor)
            .bind(line_count($batch.lines.len())?)
            .bind($batch.receivable_account_id.as_uuid())
            .bind($batch.pledge_transaction_id.as_uuid())
            .bind(&$batch.submitted_by)
            .bind($batch.created_at.to_datetime())
            .bind(&$batch.creditor_reference)
    };
}

/// A batch's line count as its INTEGER column holds it.
fn line_count(lines: usize) -> Result<i32, StoreError> {
    i32::try_from(lines).map_err(|_| StoreError::Corrupt("too many lines".into()))
}

/// SQLite keeps one row per line in `contribution_lines`. The lines travel as one JSON array of
/// `[reference, members, amount_minor, kind]` that SQLite's `json_each` unpacks into rows inside one
/// statement: a statement per line cost a round trip to sqlx's worker thread each (about 20,000
/// lines/s, where one statement takes over 100,000).
async fn insert_batch_sqlite(
    connection: &mut SqliteConnection,
    batch: &ContributionBatchRecord,
) -> Result<(), StoreError> {
    bind_batch!(
        sqlx::query(concat!(
            "INSERT INTO contribution_batches (",
            batch_columns!(),
            ", period_ordinal, period_total_minor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14, $15, $16, ",
            period_place!(),
            ")"
        )),
        batch
    )
    .execute(&mut *connection)
    .await?;
    let lines = batch
        .lines
        .iter()
        .map(|line| {
            Ok((
                line.reference.as_str(),
                i64_of(line.members, "members")?,
                line.amount.minor(),
                line_kind(line.kind),
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let lines = serde_json::to_string(&lines)
        .map_err(|error| StoreError::Corrupt(format!("batch lines as JSON: {error}")))?;
    sqlx::query(
        "INSERT INTO contribution_lines (batch_id, line_index, reference, members, amount_minor, kind) \
         SELECT $1, line.key, line.value ->> 0, line.value ->> 1, line.value ->> 2, line.value ->> 3 \
         FROM json_each($2) AS line",
    )
    .bind(batch.id)
    .bind(lines)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// PostgreSQL keeps a batch's lines in the batch's own row, as parallel arrays
/// (migrations/postgres/0006_batch_lines_in_row.sql), so a batch is one row whatever its size.
/// The writer's group statement writes batches the same way, many at once.
async fn insert_batch_postgres(
    connection: &mut PgConnection,
    batch: &ContributionBatchRecord,
) -> Result<(), StoreError> {
    let count = batch.lines.len();
    let mut references = Vec::with_capacity(count);
    let mut members = Vec::with_capacity(count);
    let mut amounts = Vec::with_capacity(count);
    let mut kinds = Vec::with_capacity(count);
    for line in &batch.lines {
        references.push(line.reference.as_str());
        members.push(i64_of(line.members, "members")?);
        amounts.push(line.amount.minor());
        kinds.push(line_kind(line.kind));
    }
    bind_batch!(
        sqlx::query(concat!(
            "INSERT INTO contribution_batches (",
            batch_columns!(),
            ", line_references, line_members, line_amounts_minor, line_kinds, period_ordinal, \
             period_total_minor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17, $18, $19, $20, ",
            period_place!(),
            ")"
        )),
        batch
    )
    .bind(&references)
    .bind(&members)
    .bind(&amounts)
    .bind(&kinds)
    .execute(&mut *connection)
    .await?;
    Ok(())
}
