-- The reversal of an accepted redistribution report (a correction made by the network, with its
-- reason): the liquidation is reversed by a journal transaction; nothing is deleted.
-- SQLite dialect; migrations/postgres mirrors it and carries the column comments.

CREATE TABLE redistribution_report_reversals (
    report_id      BLOB NOT NULL CONSTRAINT redistribution_report_reversals_pk PRIMARY KEY
                   CONSTRAINT redistribution_report_reversals_report_fk REFERENCES redistribution_reports (id),
    reason         TEXT NOT NULL,
    transaction_id BLOB NOT NULL CONSTRAINT redistribution_report_reversals_transaction_fk REFERENCES journal_transactions (transaction_id),
    reversed_by    TEXT NOT NULL,
    created_at     TEXT NOT NULL
) STRICT;

CREATE TRIGGER redistribution_report_reversals_no_update BEFORE UPDATE ON redistribution_report_reversals
BEGIN SELECT RAISE(ABORT, 'append_only: redistribution_report_reversals cannot be updated'); END;
CREATE TRIGGER redistribution_report_reversals_no_delete BEFORE DELETE ON redistribution_report_reversals
BEGIN SELECT RAISE(ABORT, 'append_only: redistribution_report_reversals cannot be deleted'); END;
