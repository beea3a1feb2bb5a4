-- Disputed settlements (issue 15): a beneficiary's confirmation whose shortfall would need a top-up
-- beyond the transfer's expected fee plus the tolerance (ledger_core::settlement::review_top_up)
-- moves no money; it is recorded here as a claim, and the network resolves it with the bank
-- statement as evidence. Both tables are append-only: a claim is resolved by a row of its own.
-- SQLite dialect; migrations/postgres mirrors it and carries the column comments.

CREATE TABLE transfer_disputes (
    id                  BLOB        NOT NULL CONSTRAINT transfer_disputes_pk PRIMARY KEY,
    transfer_id         BLOB        NOT NULL CONSTRAINT transfer_disputes_transfer_fk REFERENCES transfers (id),
    claim_number        INTEGER     NOT NULL CONSTRAINT transfer_disputes_claim_number_positive CHECK (claim_number > 0),
    received_minor      INTEGER      NOT NULL CONSTRAINT transfer_disputes_received_positive CHECK (received_minor > 0),
    received_currency   TEXT        NOT NULL,
    value_date          TEXT        NOT NULL,
    bank_reference      TEXT        NOT NULL,
    fees_deducted_minor INTEGER      NULL,
    shortfall_minor     INTEGER      NOT NULL CONSTRAINT transfer_disputes_shortfall_positive CHECK (shortfall_minor > 0),
    top_up_minor        INTEGER      NOT NULL CONSTRAINT transfer_disputes_top_up_positive CHECK (top_up_minor > 0),
    already_paid_minor  INTEGER      NOT NULL CONSTRAINT transfer_disputes_already_paid_check CHECK (already_paid_minor >= 0),
    allowance_minor     INTEGER      NOT NULL CONSTRAINT transfer_disputes_allowance_check CHECK (allowance_minor >= 0),
    currency            TEXT        NOT NULL,
    claimed_by          TEXT        NOT NULL,
    created_at          TEXT        NOT NULL,
    CONSTRAINT transfer_disputes_claim_unique UNIQUE (transfer_id, claim_number)
) STRICT;
CREATE INDEX transfer_disputes_by_transfer ON transfer_disputes (transfer_id, claim_number);

CREATE TABLE transfer_dispute_resolutions (
    dispute_id               BLOB        NOT NULL CONSTRAINT transfer_dispute_resolutions_pk PRIMARY KEY
                             CONSTRAINT transfer_dispute_resolutions_dispute_fk REFERENCES transfer_disputes (id),
    decision                 TEXT        NOT NULL CONSTRAINT transfer_dispute_resolutions_decision_check CHECK (decision IN ('top_up', 'reject')),
    established_minor        INTEGER      NULL CONSTRAINT transfer_dispute_resolutions_established_positive CHECK (established_minor > 0),
    bank_statement_reference TEXT        NOT NULL,
    reason                   TEXT        NOT NULL,
    transaction_id           BLOB        NULL CONSTRAINT transfer_dispute_resolutions_transaction_fk REFERENCES journal_transactions (transaction_id),
    top_up_transfer_id       BLOB        NULL CONSTRAINT transfer_dispute_resolutions_top_up_fk REFERENCES transfers (id),
    resolved_by              TEXT        NOT NULL,
    created_at               TEXT        NOT NULL,
    CONSTRAINT transfer_dispute_resolutions_shape CHECK (
        (decision = 'top_up' AND established_minor IS NOT NULL AND transaction_id IS NOT NULL)
        OR (decision = 'reject' AND established_minor IS NULL AND transaction_id IS NULL AND top_up_transfer_id IS NULL)
    )
) STRICT;

CREATE TRIGGER transfer_disputes_no_update BEFORE UPDATE ON transfer_disputes
BEGIN SELECT RAISE(ABORT, 'append_only: transfer_disputes cannot be updated'); END;
CREATE TRIGGER transfer_disputes_no_delete BEFORE DELETE ON transfer_disputes
BEGIN SELECT RAISE(ABORT, 'append_only: transfer_disputes cannot be deleted'); END;
CREATE TRIGGER transfer_dispute_resolutions_no_update BEFORE UPDATE ON transfer_dispute_resolutions
BEGIN SELECT RAISE(ABORT, 'append_only: transfer_dispute_resolutions cannot be updated'); END;
CREATE TRIGGER transfer_dispute_resolutions_no_delete BEFORE DELETE ON transfer_dispute_resolutions
BEGIN SELECT RAISE(ABORT, 'append_only: transfer_dispute_resolutions cannot be deleted'); END;
