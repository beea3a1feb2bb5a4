-- Partners change (issue 18): facts need the network's eye (submitted, verified or rejected) and
-- carry the SHA-256 of their evidence document, stored content-addressed in the database. Every
-- table here is append-only. SQLite dialect; migrations/postgres mirrors it and carries the column
-- comments.

CREATE TABLE evidence_documents (
    sha256     TEXT    NOT NULL CONSTRAINT evidence_documents_pk PRIMARY KEY
                       CONSTRAINT evidence_documents_sha256_check CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
    media_type TEXT    NOT NULL CONSTRAINT evidence_documents_media_type_check
                       CHECK (media_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    size_bytes INTEGER NOT NULL CONSTRAINT evidence_documents_size_check CHECK (size_bytes BETWEEN 1 AND 4194304),
    content    BLOB    NOT NULL,
    created_at TEXT    NOT NULL
) STRICT;
CREATE TRIGGER evidence_documents_no_update BEFORE UPDATE ON evidence_documents
BEGIN SELECT RAISE(ABORT, 'append_only: evidence_documents cannot be updated'); END;
CREATE TRIGGER evidence_documents_no_delete BEFORE DELETE ON evidence_documents
BEGIN SELECT RAISE(ABORT, 'append_only: evidence_documents cannot be deleted'); END;

ALTER TABLE organisation_facts ADD COLUMN posted_status TEXT NOT NULL DEFAULT 'verified'
    CONSTRAINT organisation_facts_posted_status_check CHECK (posted_status IN ('submitted', 'verified'));
ALTER TABLE organisation_facts ADD COLUMN evidence_sha256 TEXT NULL
    CONSTRAINT organisation_facts_evidence_fk REFERENCES evidence_documents (sha256);

CREATE TABLE fact_decisions (
    fact_id    BLOB NOT NULL CONSTRAINT fact_decisions_pk PRIMARY KEY
                    CONSTRAINT fact_decisions_fact_fk REFERENCES organisation_facts (id),
    decision   TEXT NOT NULL CONSTRAINT fact_decisions_decision_check CHECK (decision IN ('verified', 'rejected')),
    reason     TEXT NULL,
    decided_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CONSTRAINT fact_decisions_reason_check CHECK (decision = 'verified' OR reason IS NOT NULL)
) STRICT;
CREATE TRIGGER fact_decisions_no_update BEFORE UPDATE ON fact_decisions
BEGIN SELECT RAISE(ABORT, 'append_only: fact_decisions cannot be updated'); END;
CREATE TRIGGER fact_decisions_no_delete BEFORE DELETE ON fact_decisions
BEGIN SELECT RAISE(ABORT, 'append_only: fact_decisions cannot be deleted'); END;

-- Organisation details as versions (issue 18.1); see migrations/postgres for the comments.
CREATE TABLE organisation_versions (
    organisation_id BLOB    NOT NULL CONSTRAINT organisation_versions_organisation_fk REFERENCES organisations (id),
    version_number  INTEGER NOT NULL CONSTRAINT organisation_versions_number_check CHECK (version_number >= 1),
    effective_from  TEXT    NOT NULL CONSTRAINT organisation_versions_effective_from_fund_date
                            CHECK (effective_from BETWEEN '2000-01-01' AND '2099-12-31' AND length(effective_from) = 10),
    name            TEXT    NOT NULL,
    contact         TEXT    NULL,
    covered_members INTEGER NULL CONSTRAINT organisation_versions_members_check CHECK (covered_members >= 0),
    fee_fixed_minor INTEGER NULL CONSTRAINT organisation_versions_fee_fixed_check CHECK (fee_fixed_minor >= 0),
    fee_currency    TEXT    NULL,
    fee_percent     TEXT    NULL,
    changed_fields  TEXT    NOT NULL,
    changed_by      TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    CONSTRAINT organisation_versions_pk PRIMARY KEY (organisation_id, version_number),
    CONSTRAINT organisation_versions_fee_check CHECK ((fee_fixed_minor IS NULL) = (fee_percent IS NULL) AND (fee_fixed_minor IS NULL) = (fee_currency IS NULL))
) STRICT;
CREATE TRIGGER organisation_versions_no_update BEFORE UPDATE ON organisation_versions
BEGIN SELECT RAISE(ABORT, 'append_only: organisation_versions cannot be updated'); END;
CREATE TRIGGER organisation_versions_no_delete BEFORE DELETE ON organisation_versions
BEGIN SELECT RAISE(ABORT, 'append_only: organisation_versions cannot be deleted'); END;

-- Bank accounts (issue 18.2); see migrations/postgres for the comments.
CREATE TABLE bank_accounts (
    organisation_id BLOB    NOT NULL CONSTRAINT bank_accounts_organisation_fk REFERENCES organisations (id),
    version_number  INTEGER NOT NULL CONSTRAINT bank_accounts_number_check CHECK (version_number >= 1),
    holder_name     TEXT    NOT NULL,
    iban            TEXT    NULL,
    account_number  TEXT    NULL,
    bic             TEXT    NULL,
    currency        TEXT    NOT NULL,
    proposed_by     TEXT    NOT NULL,
    approved_by     TEXT    NULL,
    proposal_id     BLOB    NULL,
    created_at      TEXT    NOT NULL,
    CONSTRAINT bank_accounts_pk PRIMARY KEY (organisation_id, version_number),
    CONSTRAINT bank_accounts_identifier_check CHECK ((iban IS NULL) <> (account_number IS NULL) AND (account_number IS NULL OR bic IS NOT NULL))
) STRICT;
CREATE TRIGGER bank_accounts_no_update BEFORE UPDATE ON bank_accounts
BEGIN SELECT RAISE(ABORT, 'append_only: bank_accounts cannot be updated'); END;
CREATE TRIGGER bank_accounts_no_delete BEFORE DELETE ON bank_accounts
BEGIN SELECT RAISE(ABORT, 'append_only: bank_accounts cannot be deleted'); END;

-- Programme rules as versions (issue 18.3); see migrations/postgres for the comments.
CREATE TABLE programme_versions (
    programme_id           BLOB    NOT NULL CONSTRAINT programme_versions_programme_fk REFERENCES programmes (id),
    version_number         INTEGER NOT NULL CONSTRAINT programme_versions_number_check CHECK (version_number >= 1),
    effective_period       TEXT    NOT NULL,
    effective_from         TEXT    NOT NULL,
    allocation             TEXT    NOT NULL,
    conditions             TEXT    NOT NULL,
    minimum_transfer_minor INTEGER NOT NULL CONSTRAINT programme_versions_minimum_check CHECK (minimum_transfer_minor >= 0),
    admin_cost_cap_percent TEXT    NOT NULL,
    changed_fields         TEXT    NOT NULL,
    changed_by             TEXT    NOT NULL,
    created_at             TEXT    NOT NULL,
    CONSTRAINT programme_versions_pk PRIMARY KEY (programme_id, version_number)
) STRICT;
CREATE TRIGGER programme_versions_no_update BEFORE UPDATE ON programme_versions
BEGIN SELECT RAISE(ABORT, 'append_only: programme_versions cannot be updated'); END;
CREATE TRIGGER programme_versions_no_delete BEFORE DELETE ON programme_versions
BEGIN SELECT RAISE(ABORT, 'append_only: programme_versions cannot be deleted'); END;

ALTER TABLE transfer_runs ADD COLUMN programme_version INTEGER NOT NULL DEFAULT 0;

-- Money from other currencies (issue 18.5); see migrations/postgres for the comments. SQLite
-- cannot add a table constraint: the application writes the three columns together.
ALTER TABLE batch_receipts ADD COLUMN original_amount_minor INTEGER NULL CHECK (original_amount_minor IS NULL OR original_amount_minor > 0);
ALTER TABLE batch_receipts ADD COLUMN original_currency TEXT NULL;
ALTER TABLE batch_receipts ADD COLUMN original_rate TEXT NULL;
