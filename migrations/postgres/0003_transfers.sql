-- The southern side of the fund: facts that decide eligibility, fee schedules, fee-coverage deposits,
-- transfer runs (plans are recorded: decisions are data), transfers and their confirmations.
-- PostgreSQL dialect; migrations/sqlite mirrors it.

CREATE TABLE organisation_facts (
    id                 UUID        NOT NULL CONSTRAINT organisation_facts_pk PRIMARY KEY,
    organisation_id    UUID        NOT NULL CONSTRAINT organisation_facts_organisation_fk REFERENCES organisations (id),
    code               TEXT        NOT NULL,
    value              TEXT        NOT NULL,
    as_of              DATE        NOT NULL,
    evidence_reference TEXT        NOT NULL,
    recorded_by        TEXT        NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE organisation_facts IS 'Facts about a beneficiary (append-only); the latest as of a date counts.';
COMMENT ON COLUMN organisation_facts.id IS 'UUIDv7: its order is the order facts were recorded.';
COMMENT ON COLUMN organisation_facts.code IS 'mutual_operational, contribution_rates_defined, local_cofinancing_percent, ...';
COMMENT ON COLUMN organisation_facts.value IS 'Text form: true/false, a percentage, or a date.';
COMMENT ON COLUMN organisation_facts.as_of IS 'The date from which the fact holds.';
COMMENT ON COLUMN organisation_facts.evidence_reference IS 'Where the evidence is (minutes, statute, bank letter).';
COMMENT ON COLUMN organisation_facts.recorded_by IS 'JWT sub and organisation of whoever posted it.';
CREATE INDEX organisation_facts_by_organisation ON organisation_facts (organisation_id, code, as_of);

CREATE TABLE fee_schedules (
    owner_id     UUID        NOT NULL CONSTRAINT fee_schedules_pk PRIMARY KEY,
    fixed_minor  BIGINT      NOT NULL CONSTRAINT fee_schedules_fixed_check CHECK (fixed_minor >= 0),
    currency     TEXT        NOT NULL,
    percent      TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE fee_schedules IS 'Expected bank fees of transfers: per beneficiary organisation, or per programme as the default.';
COMMENT ON COLUMN fee_schedules.owner_id IS 'An organisation id (beneficiary) or a programme id.';
COMMENT ON COLUMN fee_schedules.fixed_minor IS 'Fixed fee per transfer, minor units of currency.';
COMMENT ON COLUMN fee_schedules.percent IS 'Percentage of the amount sent, decimal string.';

CREATE TABLE fee_coverage_deposits (
    id             UUID        NOT NULL CONSTRAINT fee_coverage_deposits_pk PRIMARY KEY,
    amount_minor   BIGINT      NOT NULL CONSTRAINT fee_coverage_deposits_amount_positive CHECK (amount_minor > 0),
    currency       TEXT        NOT NULL,
    reference      TEXT        NOT NULL,
    transaction_id UUID        NOT NULL CONSTRAINT fee_coverage_deposits_transaction_fk REFERENCES journal_transactions (transaction_id),
    recorded_by    TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE fee_coverage_deposits IS 'Money given to pay bank fees and shortfalls, never taken from the pool.';

CREATE TABLE transfer_runs (
    id           UUID        NOT NULL CONSTRAINT transfer_runs_pk PRIMARY KEY,
    programme_id UUID        NOT NULL CONSTRAINT transfer_runs_programme_fk REFERENCES programmes (id),
    period       TEXT        NOT NULL,
    as_of        DATE        NOT NULL,
    plan         TEXT        NOT NULL,
    fingerprint  TEXT        NOT NULL,
    planned_by   TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE transfer_runs IS 'Recorded plans of transfer runs, with every verdict and amount (decisions are data).';
COMMENT ON COLUMN transfer_runs.as_of IS 'The end of the period: receipts and facts up to this date count.';
COMMENT ON COLUMN transfer_runs.plan IS 'The plan as JSON: shares, holds, carry-forwards, fees, rates, verdicts.';
COMMENT ON COLUMN transfer_runs.fingerprint IS 'The balances the plan was computed from; execution refuses a plan whose inputs moved.';
CREATE INDEX transfer_runs_by_programme ON transfer_runs (programme_id, period);

CREATE TABLE transfer_run_executions (
    run_id         UUID        NOT NULL CONSTRAINT transfer_run_executions_pk PRIMARY KEY
                   CONSTRAINT transfer_run_executions_run_fk REFERENCES transfer_runs (id),
    transaction_id UUID        NOT NULL CONSTRAINT transfer_run_executions_transaction_fk REFERENCES journal_transactions (transaction_id),
    executed_by    TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE transfer_run_executions IS 'The execution of a run (at most one).';

CREATE TABLE transfers (
    id                    UUID        NOT NULL CONSTRAINT transfers_pk PRIMARY KEY,
    kind                  TEXT        NOT NULL CONSTRAINT transfers_kind_check CHECK (kind IN ('transfer', 'top_up')),
    run_id                UUID        NULL CONSTRAINT transfers_run_fk REFERENCES transfer_runs (id),
    root_transfer_id      UUID        NOT NULL,
    parent_transfer_id    UUID        NULL CONSTRAINT transfers_parent_fk REFERENCES transfers (id),
    programme_id          UUID        NOT NULL CONSTRAINT transfers_programme_fk REFERENCES programmes (id),
    beneficiary_id        UUID        NOT NULL CONSTRAINT transfers_beneficiary_fk REFERENCES organisations (id),
    period                TEXT        NOT NULL,
    amount_minor          BIGINT      NOT NULL CONSTRAINT transfers_amount_positive CHECK (amount_minor > 0),
    currency              TEXT        NOT NULL,
    fee_minor             BIGINT      NOT NULL CONSTRAINT transfers_fee_check CHECK (fee_minor >= 0),
    local_currency        TEXT        NOT NULL,
    rate                  TEXT        NULL,
    rate_source           TEXT        NULL,
    expected_local_minor  BIGINT      NOT NULL,
    residue_minor         TEXT        NOT NULL,
    end_to_end_id         TEXT        NOT NULL CONSTRAINT transfers_end_to_end_unique UNIQUE,
    in_transit_account_id UUID        NOT NULL CONSTRAINT transfers_in_transit_fk REFERENCES accounts (id),
    transaction_id        UUID        NOT NULL CONSTRAINT transfers_transaction_fk REFERENCES journal_transactions (transaction_id),
    created_by            TEXT        NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE transfers IS 'Money sent to a beneficiary: a run''s transfer or a top-up making good a shortfall.';
COMMENT ON COLUMN transfers.root_transfer_id IS 'The run''s transfer this one belongs to (itself for a run''s transfer).';
COMMENT ON COLUMN transfers.amount_minor IS 'Sent, minor units of currency (EUR).';
COMMENT ON COLUMN transfers.fee_minor IS 'Expected bank fee, reserved from fee coverage.';
COMMENT ON COLUMN transfers.rate IS 'Local units per EUR; NULL when the beneficiary keeps EUR.';
COMMENT ON COLUMN transfers.expected_local_minor IS 'amount × rate rounded once, minor units of local_currency.';
COMMENT ON COLUMN transfers.residue_minor IS 'What rounding once left out, decimal minor units (|x| ≤ 0.5).';
COMMENT ON COLUMN transfers.end_to_end_id IS 'ISO 20022 EndToEndId (≤ 35 characters) for the bank instruction.';
CREATE INDEX transfers_by_beneficiary ON transfers (beneficiary_id, id);
CREATE INDEX transfers_by_root ON transfers (root_transfer_id);

CREATE TABLE transfer_confirmations (
    transfer_id        UUID        NOT NULL CONSTRAINT transfer_confirmations_pk PRIMARY KEY
                       CONSTRAINT transfer_confirmations_transfer_fk REFERENCES transfers (id),
    received_minor     BIGINT      NOT NULL CONSTRAINT transfer_confirmations_received_positive CHECK (received_minor > 0),
    received_currency  TEXT        NOT NULL,
    value_date         DATE        NOT NULL,
    bank_reference     TEXT        NOT NULL,
    fees_deducted_minor BIGINT     NULL,
    shortfall_minor    BIGINT      NOT NULL,
    surplus_minor      BIGINT      NOT NULL,
    top_up_transfer_id UUID        NULL CONSTRAINT transfer_confirmations_top_up_fk REFERENCES transfers (id),
    transaction_id     UUID        NOT NULL CONSTRAINT transfer_confirmations_transaction_fk REFERENCES journal_transactions (transaction_id),
    confirmed_by       TEXT        NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE transfer_confirmations IS 'A beneficiary''s confirmation of what reached it (at most one per transfer).';
COMMENT ON COLUMN transfer_confirmations.fees_deducted_minor IS 'What the beneficiary''s bank statement shows as deducted, local minor units, if stated.';
COMMENT ON COLUMN transfer_confirmations.shortfall_minor IS 'Still missing for the chain to hold what was expected after this confirmation.';
COMMENT ON COLUMN transfer_confirmations.surplus_minor IS 'Received above what was expected.';

CREATE TRIGGER organisation_facts_append_only BEFORE UPDATE OR DELETE ON organisation_facts
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER fee_schedules_append_only BEFORE UPDATE OR DELETE ON fee_schedules
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER fee_coverage_deposits_append_only BEFORE UPDATE OR DELETE ON fee_coverage_deposits
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER transfer_runs_append_only BEFORE UPDATE OR DELETE ON transfer_runs
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER transfer_run_executions_append_only BEFORE UPDATE OR DELETE ON transfer_run_executions
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER transfer_confirmations_append_only BEFORE UPDATE OR DELETE ON transfer_confirmations
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
