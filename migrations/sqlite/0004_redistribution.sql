-- Redistribution reports: how a southern mutual used what it received, per purpose, and the
-- network's decision on each. SQLite dialect; migrations/postgres mirrors it and carries the column comments.

CREATE TABLE redistribution_reports (
    id                   BLOB        NOT NULL CONSTRAINT redistribution_reports_pk PRIMARY KEY,
    beneficiary_id       BLOB        NOT NULL CONSTRAINT redistribution_reports_beneficiary_fk REFERENCES organisations (id),
    period               TEXT        NOT NULL,
    currency             TEXT        NOT NULL,
    total_minor          INTEGER      NOT NULL CONSTRAINT redistribution_reports_total_positive CHECK (total_minor > 0),
    administration_minor INTEGER      NOT NULL CONSTRAINT redistribution_reports_administration_check CHECK (administration_minor >= 0),
    notes                TEXT        NULL,
    submitted_by         TEXT        NOT NULL,
    created_at           TEXT        NOT NULL
) STRICT;
CREATE INDEX redistribution_reports_by_beneficiary ON redistribution_reports (beneficiary_id, id);

CREATE TABLE redistribution_report_lines (
    report_id     BLOB    NOT NULL CONSTRAINT redistribution_report_lines_report_fk REFERENCES redistribution_reports (id),
    line_index    INTEGER NOT NULL,
    purpose       TEXT    NOT NULL CONSTRAINT redistribution_report_lines_purpose_check
                  CHECK (purpose IN ('premium_subsidy', 'care_reimbursement', 'prevention', 'training', 'administration')),
    amount_minor  INTEGER  NOT NULL CONSTRAINT redistribution_report_lines_amount_positive CHECK (amount_minor > 0),
    members_count INTEGER  NOT NULL CONSTRAINT redistribution_report_lines_members_check CHECK (members_count >= 0),
    CONSTRAINT redistribution_report_lines_pk PRIMARY KEY (report_id, line_index)
) STRICT;

CREATE TABLE redistribution_report_decisions (
    report_id      BLOB        NOT NULL CONSTRAINT redistribution_report_decisions_pk PRIMARY KEY
                   CONSTRAINT redistribution_report_decisions_report_fk REFERENCES redistribution_reports (id),
    decision       TEXT        NOT NULL CONSTRAINT redistribution_report_decisions_decision_check
                   CHECK (decision IN ('accepted', 'rejected')),
    reason         TEXT        NULL,
    transaction_id BLOB        NULL CONSTRAINT redistribution_report_decisions_transaction_fk REFERENCES journal_transactions (transaction_id),
    decided_by     TEXT        NOT NULL,
    created_at     TEXT        NOT NULL
) STRICT;

CREATE TRIGGER redistribution_reports_no_update BEFORE UPDATE ON redistribution_reports
BEGIN SELECT RAISE(ABORT, 'append_only: redistribution_reports cannot be updated'); END;
CREATE TRIGGER redistribution_reports_no_delete BEFORE DELETE ON redistribution_reports
BEGIN SELECT RAISE(ABORT, 'append_only: redistribution_reports cannot be deleted'); END;
CREATE TRIGGER redistribution_report_lines_no_update BEFORE UPDATE ON redistribution_report_lines
BEGIN SELECT RAISE(ABORT, 'append_only: redistribution_report_lines cannot be updated'); END;
CREATE TRIGGER redistribution_report_lines_no_delete BEFORE DELETE ON redistribution_report_lines
BEGIN SELECT RAISE(ABORT, 'append_only: redistribution_report_lines cannot be deleted'); END;
CREATE TRIGGER redistribution_report_decisions_no_update BEFORE UPDATE ON redistribution_report_decisions
BEGIN SELECT RAISE(ABORT, 'append_only: redistribution_report_decisions cannot be updated'); END;
CREATE TRIGGER redistribution_report_decisions_no_delete BEFORE DELETE ON redistribution_report_decisions
BEGIN SELECT RAISE(ABORT, 'append_only: redistribution_report_decisions cannot be deleted'); END;
