-- Redistribution reports: how a southern mutual used what it received, per purpose, and the
-- network's decision on each. PostgreSQL dialect; migrations/sqlite mirrors it.

CREATE TABLE redistribution_reports (
    id                   UUID        NOT NULL CONSTRAINT redistribution_reports_pk PRIMARY KEY,
    beneficiary_id       UUID        NOT NULL CONSTRAINT redistribution_reports_beneficiary_fk REFERENCES organisations (id),
    period               TEXT        NOT NULL,
    currency             TEXT        NOT NULL,
    total_minor          BIGINT      NOT NULL CONSTRAINT redistribution_reports_total_positive CHECK (total_minor > 0),
    administration_minor BIGINT      NOT NULL CONSTRAINT redistribution_reports_administration_check CHECK (administration_minor >= 0),
    notes                TEXT        NULL,
    submitted_by         TEXT        NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE redistribution_reports IS 'A beneficiary''s account of how it used funds received; append-only.';
COMMENT ON COLUMN redistribution_reports.period IS 'The period reported on: 2026-11, 2026-Q4 or 2026.';
COMMENT ON COLUMN redistribution_reports.currency IS 'The beneficiary''s own currency (ISO 4217).';
COMMENT ON COLUMN redistribution_reports.total_minor IS 'Sum of the lines, minor units of currency.';
COMMENT ON COLUMN redistribution_reports.administration_minor IS 'Sum of the administration lines.';
CREATE INDEX redistribution_reports_by_beneficiary ON redistribution_reports (beneficiary_id, id);

CREATE TABLE redistribution_report_lines (
    report_id     UUID    NOT NULL CONSTRAINT redistribution_report_lines_report_fk REFERENCES redistribution_reports (id),
    line_index    INTEGER NOT NULL,
    purpose       TEXT    NOT NULL CONSTRAINT redistribution_report_lines_purpose_check
                  CHECK (purpose IN ('premium_subsidy', 'care_reimbursement', 'prevention', 'training', 'administration')),
    amount_minor  BIGINT  NOT NULL CONSTRAINT redistribution_report_lines_amount_positive CHECK (amount_minor > 0),
    members_count BIGINT  NOT NULL CONSTRAINT redistribution_report_lines_members_check CHECK (members_count >= 0),
    CONSTRAINT redistribution_report_lines_pk PRIMARY KEY (report_id, line_index)
);
COMMENT ON TABLE redistribution_report_lines IS 'Lines of a report as submitted.';
COMMENT ON COLUMN redistribution_report_lines.members_count IS 'Members who benefited.';

CREATE TABLE redistribution_report_decisions (
    report_id      UUID        NOT NULL CONSTRAINT redistribution_report_decisions_pk PRIMARY KEY
                   CONSTRAINT redistribution_report_decisions_report_fk REFERENCES redistribution_reports (id),
    decision       TEXT        NOT NULL CONSTRAINT redistribution_report_decisions_decision_check
                   CHECK (decision IN ('accepted', 'rejected')),
    reason         TEXT        NULL,
    transaction_id UUID        NULL CONSTRAINT redistribution_report_decisions_transaction_fk REFERENCES journal_transactions (transaction_id),
    decided_by     TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE redistribution_report_decisions IS 'The network''s decision on a report (at most one; final).';
COMMENT ON COLUMN redistribution_report_decisions.transaction_id IS 'The liquidation posted on acceptance.';

CREATE TRIGGER redistribution_reports_append_only BEFORE UPDATE OR DELETE ON redistribution_reports
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER redistribution_report_lines_append_only BEFORE UPDATE OR DELETE ON redistribution_report_lines
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER redistribution_report_decisions_append_only BEFORE UPDATE OR DELETE ON redistribution_report_decisions
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
