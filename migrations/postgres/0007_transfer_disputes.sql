-- Disputed settlements (issue 15): a beneficiary's confirmation whose shortfall would need a top-up
-- beyond the transfer's expected fee plus the tolerance (ledger_core::settlement::review_top_up)
-- moves no money; it is recorded here as a claim, and the network resolves it with the bank
-- statement as evidence. Both tables are append-only: a claim is resolved by a row of its own.
-- PostgreSQL dialect; migrations/sqlite mirrors it.

CREATE TABLE transfer_disputes (
    id                  UUID        NOT NULL CONSTRAINT transfer_disputes_pk PRIMARY KEY,
    transfer_id         UUID        NOT NULL CONSTRAINT transfer_disputes_transfer_fk REFERENCES transfers (id),
    claim_number        INTEGER     NOT NULL CONSTRAINT transfer_disputes_claim_number_positive CHECK (claim_number > 0),
    received_minor      BIGINT      NOT NULL CONSTRAINT transfer_disputes_received_positive CHECK (received_minor > 0),
    received_currency   TEXT        NOT NULL,
    value_date          DATE        NOT NULL,
    bank_reference      TEXT        NOT NULL,
    fees_deducted_minor BIGINT      NULL,
    shortfall_minor     BIGINT      NOT NULL CONSTRAINT transfer_disputes_shortfall_positive CHECK (shortfall_minor > 0),
    top_up_minor        BIGINT      NOT NULL CONSTRAINT transfer_disputes_top_up_positive CHECK (top_up_minor > 0),
    already_paid_minor  BIGINT      NOT NULL CONSTRAINT transfer_disputes_already_paid_check CHECK (already_paid_minor >= 0),
    allowance_minor     BIGINT      NOT NULL CONSTRAINT transfer_disputes_allowance_check CHECK (allowance_minor >= 0),
    currency            TEXT        NOT NULL,
    claimed_by          TEXT        NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    CONSTRAINT transfer_disputes_claim_unique UNIQUE (transfer_id, claim_number)
);
COMMENT ON TABLE transfer_disputes IS 'Claims of a beneficiary that would need a top-up beyond what is paid without review (append-only).';
COMMENT ON COLUMN transfer_disputes.id IS 'UUIDv7 of the claim.';
COMMENT ON COLUMN transfer_disputes.transfer_id IS 'The transfer (a run''s or a top-up) the claim confirms.';
COMMENT ON COLUMN transfer_disputes.claim_number IS '1 for the first claim on the transfer, 2 after a rejected one, ...: unique, so two concurrent claims cannot both be open.';
COMMENT ON COLUMN transfer_disputes.received_minor IS 'What the beneficiary says arrived, minor units of received_currency.';
COMMENT ON COLUMN transfer_disputes.received_currency IS 'The beneficiary''s currency.';
COMMENT ON COLUMN transfer_disputes.value_date IS 'The value date the beneficiary gave (between execution and the day of the claim).';
COMMENT ON COLUMN transfer_disputes.bank_reference IS 'The beneficiary''s bank reference of the credit.';
COMMENT ON COLUMN transfer_disputes.fees_deducted_minor IS 'What the beneficiary says was deducted on the way, local minor units, if stated.';
COMMENT ON COLUMN transfer_disputes.shortfall_minor IS 'The chain''s shortfall against the expected local amount if the claim were true, local minor units.';
COMMENT ON COLUMN transfer_disputes.top_up_minor IS 'The top-up that shortfall would need, minor units of currency (EUR).';
COMMENT ON COLUMN transfer_disputes.already_paid_minor IS 'What fee coverage had already paid for earlier top-ups of the chain, fees included (EUR minor units).';
COMMENT ON COLUMN transfer_disputes.allowance_minor IS 'What fee coverage may pay without review for the chain: the expected fee plus the tolerance (EUR minor units).';
COMMENT ON COLUMN transfer_disputes.currency IS 'Currency of top_up_minor, already_paid_minor and allowance_minor (EUR).';
COMMENT ON COLUMN transfer_disputes.claimed_by IS 'JWT subject of the beneficiary''s user who made the claim.';
COMMENT ON COLUMN transfer_disputes.created_at IS 'When the claim was recorded.';
CREATE INDEX transfer_disputes_by_transfer ON transfer_disputes (transfer_id, claim_number);

CREATE TABLE transfer_dispute_resolutions (
    dispute_id               UUID        NOT NULL CONSTRAINT transfer_dispute_resolutions_pk PRIMARY KEY
                             CONSTRAINT transfer_dispute_resolutions_dispute_fk REFERENCES transfer_disputes (id),
    decision                 TEXT        NOT NULL CONSTRAINT transfer_dispute_resolutions_decision_check CHECK (decision IN ('top_up', 'reject')),
    established_minor        BIGINT      NULL CONSTRAINT transfer_dispute_resolutions_established_positive CHECK (established_minor > 0),
    bank_statement_reference TEXT        NOT NULL,
    reason                   TEXT        NOT NULL,
    transaction_id           UUID        NULL CONSTRAINT transfer_dispute_resolutions_transaction_fk REFERENCES journal_transactions (transaction_id),
    top_up_transfer_id       UUID        NULL CONSTRAINT transfer_dispute_resolutions_top_up_fk REFERENCES transfers (id),
    resolved_by              TEXT        NOT NULL,
    created_at               TIMESTAMPTZ NOT NULL,
    CONSTRAINT transfer_dispute_resolutions_shape CHECK (
        (decision = 'top_up' AND established_minor IS NOT NULL AND transaction_id IS NOT NULL)
        OR (decision = 'reject' AND established_minor IS NULL AND transaction_id IS NULL AND top_up_transfer_id IS NULL)
    )
);
COMMENT ON TABLE transfer_dispute_resolutions IS 'The network''s decision on a claim, with the bank statement as evidence (at most one per claim; append-only).';
COMMENT ON COLUMN transfer_dispute_resolutions.dispute_id IS 'The claim resolved; the primary key makes a second resolution fail.';
COMMENT ON COLUMN transfer_dispute_resolutions.decision IS 'top_up: the settlement is booked with the established amount and any top-up it needs; reject: nothing moves and the beneficiary may confirm again.';
COMMENT ON COLUMN transfer_dispute_resolutions.established_minor IS 'What arrived according to the bank statement, local minor units (top_up only).';
COMMENT ON COLUMN transfer_dispute_resolutions.bank_statement_reference IS 'The bank statement read as evidence (statement number, camt.053 id, page).';
COMMENT ON COLUMN transfer_dispute_resolutions.reason IS 'Why the network decided so, in words.';
COMMENT ON COLUMN transfer_dispute_resolutions.transaction_id IS 'The settlement booked (top_up only).';
COMMENT ON COLUMN transfer_dispute_resolutions.top_up_transfer_id IS 'The top-up sent, if the established amount left a shortfall.';
COMMENT ON COLUMN transfer_dispute_resolutions.resolved_by IS 'JWT subject and organisation of the admin who resolved the claim.';
COMMENT ON COLUMN transfer_dispute_resolutions.created_at IS 'When the resolution was recorded.';

CREATE TRIGGER transfer_disputes_append_only BEFORE UPDATE OR DELETE ON transfer_disputes
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER transfer_dispute_resolutions_append_only BEFORE UPDATE OR DELETE ON transfer_dispute_resolutions
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
