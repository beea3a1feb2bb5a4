-- Four eyes (issue 17): executing a transfer run, returning held funds, reversing a batch and
-- reversing an accepted report need a second admin's approval. The first admin's request is kept
-- as a proposal; another admin approves it (the operation then runs, with both names in the
-- transaction's metadata) or rejects it. Both tables are append-only: a proposal is decided by a
-- row of its own. SQLite dialect; migrations/postgres mirrors it and carries the column comments.

CREATE TABLE proposals (
    id              BLOB NOT NULL CONSTRAINT proposals_pk PRIMARY KEY,
    operation       TEXT NOT NULL,
    path            TEXT NOT NULL,
    body            TEXT NOT NULL,
    organisation_id BLOB NOT NULL,
    idempotency_key TEXT NOT NULL,
    proposed_by     TEXT NOT NULL,
    proposer_user   BLOB NULL,
    proposed_at     TEXT NOT NULL,
    CONSTRAINT proposals_key_unique UNIQUE (organisation_id, idempotency_key)
) STRICT;

CREATE TABLE proposal_decisions (
    proposal_id   BLOB    NOT NULL CONSTRAINT proposal_decisions_pk PRIMARY KEY
                          CONSTRAINT proposal_decisions_proposal_fk REFERENCES proposals (id),
    decision      TEXT    NOT NULL CONSTRAINT proposal_decisions_decision_check CHECK (decision IN ('approved', 'rejected')),
    decided_by    TEXT    NOT NULL,
    decided_at    TEXT    NOT NULL,
    result_status INTEGER NULL,
    result_body   TEXT    NULL
) STRICT;

CREATE TRIGGER proposals_no_update BEFORE UPDATE ON proposals
BEGIN SELECT RAISE(ABORT, 'append_only: proposals cannot be updated'); END;
CREATE TRIGGER proposals_no_delete BEFORE DELETE ON proposals
BEGIN SELECT RAISE(ABORT, 'append_only: proposals cannot be deleted'); END;
CREATE TRIGGER proposal_decisions_no_update BEFORE UPDATE ON proposal_decisions
BEGIN SELECT RAISE(ABORT, 'append_only: proposal_decisions cannot be updated'); END;
CREATE TRIGGER proposal_decisions_no_delete BEFORE DELETE ON proposal_decisions
BEGIN SELECT RAISE(ABORT, 'append_only: proposal_decisions cannot be deleted'); END;
