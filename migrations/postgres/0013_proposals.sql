-- Four eyes (issue 17): executing a transfer run, returning held funds, reversing a batch and
-- reversing an accepted report need a second admin's approval. The first admin's request is kept
-- as a proposal; another admin approves it (the operation then runs, with both names in the
-- transaction's metadata) or rejects it. Both tables are append-only: a proposal is decided by a
-- row of its own. PostgreSQL dialect; migrations/sqlite mirrors it.

CREATE TABLE proposals (
    id              UUID        NOT NULL CONSTRAINT proposals_pk PRIMARY KEY,
    operation       TEXT        NOT NULL,
    path            TEXT        NOT NULL,
    body            TEXT        NOT NULL,
    organisation_id UUID        NOT NULL,
    idempotency_key TEXT        NOT NULL,
    proposed_by     TEXT        NOT NULL,
    proposer_user   UUID        NULL,
    proposed_at     TIMESTAMPTZ NOT NULL,
    CONSTRAINT proposals_key_unique UNIQUE (organisation_id, idempotency_key)
);
COMMENT ON TABLE proposals IS 'Requests that need a second admin''s approval; append-only.';
COMMENT ON COLUMN proposals.operation IS 'The operation proposed (execute_transfer_run, return_held_funds, reverse_batch, reverse_report).';
COMMENT ON COLUMN proposals.path IS 'The request''s path, naming what it acts on.';
COMMENT ON COLUMN proposals.body IS 'The request''s JSON body, run as it was proposed.';
COMMENT ON COLUMN proposals.organisation_id IS 'The proposer''s organisation (the scope of its idempotency key).';
COMMENT ON COLUMN proposals.idempotency_key IS 'The proposing request''s Idempotency-Key: proposing again answers the same proposal.';
COMMENT ON COLUMN proposals.proposed_by IS 'The proposer''s subject (a user''s email, a key''s prefix or a token''s subject).';
COMMENT ON COLUMN proposals.proposer_user IS 'The user behind the proposer (its session or one of its keys), so it cannot approve with another credential.';
COMMENT ON COLUMN proposals.proposed_at IS 'When it was proposed.';

CREATE TABLE proposal_decisions (
    proposal_id   UUID        NOT NULL CONSTRAINT proposal_decisions_pk PRIMARY KEY
                              CONSTRAINT proposal_decisions_proposal_fk REFERENCES proposals (id),
    decision      TEXT        NOT NULL CONSTRAINT proposal_decisions_decision_check CHECK (decision IN ('approved', 'rejected')),
    decided_by    TEXT        NOT NULL,
    decided_at    TIMESTAMPTZ NOT NULL,
    result_status INTEGER     NULL,
    result_body   TEXT        NULL
);
COMMENT ON TABLE proposal_decisions IS 'The decision on a proposal (one at most); append-only.';
COMMENT ON COLUMN proposal_decisions.decision IS 'approved (the operation ran) or rejected (nothing ran).';
COMMENT ON COLUMN proposal_decisions.decided_by IS 'The approving or rejecting admin''s subject (never the proposer).';
COMMENT ON COLUMN proposal_decisions.decided_at IS 'When it was decided.';
COMMENT ON COLUMN proposal_decisions.result_status IS 'The HTTP status the approved operation answered.';
COMMENT ON COLUMN proposal_decisions.result_body IS 'The JSON the approved operation answered.';

CREATE TRIGGER proposals_append_only BEFORE UPDATE OR DELETE ON proposals
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER proposals_no_truncate BEFORE TRUNCATE ON proposals
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER proposal_decisions_append_only BEFORE UPDATE OR DELETE ON proposal_decisions
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER proposal_decisions_no_truncate BEFORE TRUNCATE ON proposal_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();
