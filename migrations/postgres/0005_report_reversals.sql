-- The reversal of an accepted redistribution report (a correction made by the network, with its
-- reason): the liquidation is reversed by a journal transaction; nothing is deleted.
-- PostgreSQL dialect; migrations/sqlite mirrors it.

CREATE TABLE redistribution_report_reversals (
    report_id      UUID        NOT NULL CONSTRAINT redistribution_report_reversals_pk PRIMARY KEY
                   CONSTRAINT redistribution_report_reversals_report_fk REFERENCES redistribution_reports (id),
    reason         TEXT        NOT NULL,
    transaction_id UUID        NOT NULL CONSTRAINT redistribution_report_reversals_transaction_fk REFERENCES journal_transactions (transaction_id),
    reversed_by    TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE redistribution_report_reversals IS 'The reversal of an accepted report (at most one), with its reason.';
COMMENT ON COLUMN redistribution_report_reversals.transaction_id IS 'The journal transaction that reversed the liquidation.';

CREATE TRIGGER redistribution_report_reversals_append_only BEFORE UPDATE OR DELETE ON redistribution_report_reversals
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
