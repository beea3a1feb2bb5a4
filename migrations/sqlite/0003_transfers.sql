-- The southern side of the fund: facts that decide eligibility, fee schedules, fee-coverage deposits,
-- transfer runs (plans are recorded: decisions are data), transfers and their confirmations.
-- SQLite dialect; migrations/postgres mirrors it and carries the column comments.

CREATE TABLE organisation_facts (
    id                 BLOB        NOT NULL CONSTRAINT organisation_facts_pk PRIMARY KEY,
    organisation_id    BLOB        NOT NULL CONSTRAINT organisation_facts_organisation_fk REFERENCES organisations (id),
    code               TEXT        NOT NULL,
    value              TEXT        NOT NULL,
    as_of              TEXT        NOT NULL,
    evidence_reference TEXT        NOT NULL,
    recorded_by        TEXT        NOT NULL,
    created_at         TEXT        NOT NULL
) STRICT;
CREATE INDEX organisation_facts_by_organisation ON organisation_facts (organisation_id, code, as_of);

CREATE TABLE fee_schedules (
    owner_id     BLOB        NOT NULL CONSTRAINT fee_schedules_pk PRIMARY KEY,
    fixed_minor  INTEGER      NOT NULL CONSTRAINT fee_schedules_fixed_check CHECK (fixed_minor >= 0),
    currency     TEXT        NOT NULL,
    percent      TEXT        NOT NULL,
    created_at   TEXT        NOT NULL
) STRICT;

CREATE TABLE fee_coverage_deposits (
    id             BLOB        NOT NULL CONSTRAINT fee_coverage_deposits_pk PRIMARY KEY,
    amount_minor   INTEGER      NOT NULL CONSTRAINT fee_coverage_deposits_amount_positive CHECK (amount_minor > 0),
    currency       TEXT        NOT NULL,
    reference      TEXT        NOT NULL,
    transaction_id BLOB        NOT NULL CONSTRAINT fee_coverage_deposits_transaction_fk REFERENCES journal_transactions (transaction_id),
    recorded_by    TEXT        NOT NULL,
    created_at     TEXT        NOT NULL
) STRICT;

CREATE TABLE transfer_runs (
    id           BLOB        NOT NULL CONSTRAINT transfer_runs_pk PRIMARY KEY,
    programme_id BLOB        NOT NULL CONSTRAINT transfer_runs_programme_fk REFERENCES programmes (id),
    period       TEXT        NOT NULL,
    as_of        TEXT        NOT NULL,
    plan         TEXT        NOT NULL,
    fingerprint  TEXT        NOT NULL,
    planned_by   TEXT        NOT NULL,
    created_at   TEXT        NOT NULL
) STRICT;
CREATE INDEX transfer_runs_by_programme ON transfer_runs (programme_id, period);

CREATE TABLE transfer_run_executions (
    run_id         BLOB        NOT NULL CONSTRAINT transfer_run_executions_pk PRIMARY KEY
                   CONSTRAINT transfer_run_executions_run_fk REFERENCES transfer_runs (id),
    transaction_id BLOB        NOT NULL CONSTRAINT transfer_run_executions_transaction_fk REFERENCES journal_transactions (transaction_id),
    executed_by    TEXT        NOT NULL,
    created_at     TEXT        NOT NULL
) STRICT;

CREATE TABLE transfers (
    id                    BLOB        NOT NULL CONSTRAINT transfers_pk PRIMARY KEY,
    kind                  TEXT        NOT NULL CONSTRAINT transfers_kind_check CHECK (kind IN ('transfer', 'top_up')),
    run_id                BLOB        NULL CONSTRAINT transfers_run_fk REFERENCES transfer_runs (id),
    root_transfer_id      BLOB        NOT NULL,
    parent_transfer_id    BLOB        NULL CONSTRAINT transfers_parent_fk REFERENCES transfers (id),
    programme_id          BLOB        NOT NULL CONSTRAINT transfers_programme_fk REFERENCES programmes (id),
    beneficiary_id        BLOB        NOT NULL CONSTRAINT transfers_beneficiary_fk REFERENCES organisations (id),
    period                TEXT        NOT NULL,
    amount_minor          INTEGER      NOT NULL CONSTRAINT transfers_amount_positive CHECK (amount_minor > 0),
    currency              TEXT        NOT NULL,
    fee_minor             INTEGER      NOT NULL CONSTRAINT transfers_fee_check CHECK (fee_minor >= 0),
    local_currency        TEXT        NOT NULL,
    rate                  TEXT        NULL,
    rate_source           TEXT        NULL,
    expected_local_minor  INTEGER      NOT NULL,
    residue_minor         TEXT        NOT NULL,
    end_to_end_id         TEXT        NOT NULL CONSTRAINT transfers_end_to_end_unique UNIQUE,
    in_transit_account_id BLOB        NOT NULL CONSTRAINT transfers_in_transit_fk REFERENCES accounts (id),
    transaction_id        BLOB        NOT NULL CONSTRAINT transfers_transaction_fk REFERENCES journal_transactions (transaction_id),
    created_by            TEXT        NOT NULL,
    created_at            TEXT        NOT NULL
) STRICT;
CREATE INDEX transfers_by_beneficiary ON transfers (beneficiary_id, id);
CREATE INDEX transfers_by_root ON transfers (root_transfer_id);

CREATE TABLE transfer_confirmations (
    transfer_id        BLOB        NOT NULL CONSTRAINT transfer_confirmations_pk PRIMARY KEY
                       CONSTRAINT transfer_confirmations_transfer_fk REFERENCES transfers (id),
    received_minor     INTEGER      NOT NULL CONSTRAINT transfer_confirmations_received_positive CHECK (received_minor > 0),
    received_currency  TEXT        NOT NULL,
    value_date         TEXT        NOT NULL,
    bank_reference     TEXT        NOT NULL,
    fees_deducted_minor INTEGER     NULL,
    shortfall_minor    INTEGER      NOT NULL,
    surplus_minor      INTEGER      NOT NULL,
    top_up_transfer_id BLOB        NULL CONSTRAINT transfer_confirmations_top_up_fk REFERENCES transfers (id),
    transaction_id     BLOB        NOT NULL CONSTRAINT transfer_confirmations_transaction_fk REFERENCES journal_transactions (transaction_id),
    confirmed_by       TEXT        NOT NULL,
    created_at         TEXT        NOT NULL
) STRICT;

CREATE TRIGGER organisation_facts_no_update BEFORE UPDATE ON organisation_facts
BEGIN SELECT RAISE(ABORT, 'append_only: organisation_facts cannot be updated'); END;
CREATE TRIGGER organisation_facts_no_delete BEFORE DELETE ON organisation_facts
BEGIN SELECT RAISE(ABORT, 'append_only: organisation_facts cannot be deleted'); END;
CREATE TRIGGER fee_schedules_no_update BEFORE UPDATE ON fee_schedules
BEGIN SELECT RAISE(ABORT, 'append_only: fee_schedules cannot be updated'); END;
CREATE TRIGGER fee_schedules_no_delete BEFORE DELETE ON fee_schedules
BEGIN SELECT RAISE(ABORT, 'append_only: fee_schedules cannot be deleted'); END;
CREATE TRIGGER fee_coverage_deposits_no_update BEFORE UPDATE ON fee_coverage_deposits
BEGIN SELECT RAISE(ABORT, 'append_only: fee_coverage_deposits cannot be updated'); END;
CREATE TRIGGER fee_coverage_deposits_no_delete BEFORE DELETE ON fee_coverage_deposits
BEGIN SELECT RAISE(ABORT, 'append_only: fee_coverage_deposits cannot be deleted'); END;
CREATE TRIGGER transfer_runs_no_update BEFORE UPDATE ON transfer_runs
BEGIN SELECT RAISE(ABORT, 'append_only: transfer_runs cannot be updated'); END;
CREATE TRIGGER transfer_runs_no_delete BEFORE DELETE ON transfer_runs
BEGIN SELECT RAISE(ABORT, 'append_only: transfer_runs cannot be deleted'); END;
CREATE TRIGGER transfer_run_executions_no_update BEFORE UPDATE ON transfer_run_executions
BEGIN SELECT RAISE(ABORT, 'append_only: transfer_run_executions cannot be updated'); END;
CREATE TRIGGER transfer_run_executions_no_delete BEFORE DELETE ON transfer_run_executions
BEGIN SELECT RAISE(ABORT, 'append_only: transfer_run_executions cannot be deleted'); END;
CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
BEGIN SELECT RAISE(ABORT, 'append_only: transfers cannot be updated'); END;
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
BEGIN SELECT RAISE(ABORT, 'append_only: transfers cannot be deleted'); END;
CREATE TRIGGER transfer_confirmations_no_update BEFORE UPDATE ON transfer_confirmations
BEGIN SELECT RAISE(ABORT, 'append_only: transfer_confirmations cannot be updated'); END;
CREATE TRIGGER transfer_confirmations_no_delete BEFORE DELETE ON transfer_confirmations
BEGIN SELECT RAISE(ABORT, 'append_only: transfer_confirmations cannot be deleted'); END;
