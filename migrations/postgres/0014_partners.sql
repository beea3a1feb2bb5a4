-- Partners change (issue 18). Facts need the network's eye: a fact a beneficiary declares about
-- itself is `submitted` and counts only once an admin verifies it (or never, once rejected); the
-- network's own facts are verified when posted. Evidence documents (PDF, PNG, JPEG) are stored
-- content-addressed by their SHA-256, in the database: a document is written in the same
-- transaction as the fact that names it (no orphan file, no fact naming a missing document), every
-- instance behind one database sees it without a shared volume, and a backup of the database holds
-- the evidence with the books. Every table here is append-only. PostgreSQL dialect;
-- migrations/sqlite mirrors it.

CREATE TABLE evidence_documents (
    sha256     TEXT        NOT NULL CONSTRAINT evidence_documents_pk PRIMARY KEY
                           CONSTRAINT evidence_documents_sha256_check CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    media_type TEXT        NOT NULL CONSTRAINT evidence_documents_media_type_check
                           CHECK (media_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    size_bytes BIGINT      NOT NULL CONSTRAINT evidence_documents_size_check CHECK (size_bytes BETWEEN 1 AND 4194304),
    content    BYTEA       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE evidence_documents IS 'Evidence attached to facts, content-addressed; the same document uploaded twice is stored once. Append-only.';
COMMENT ON COLUMN evidence_documents.sha256 IS 'Lower-case hexadecimal SHA-256 of content: the document''s address.';
COMMENT ON COLUMN evidence_documents.media_type IS 'The type told by the content''s first bytes (never by what the uploader declared).';
COMMENT ON COLUMN evidence_documents.size_bytes IS 'Length of content; at most 4 MiB (ledger_core::evidence::MAX_EVIDENCE_DOCUMENT_BYTES).';
COMMENT ON COLUMN evidence_documents.content IS 'The document''s bytes.';
COMMENT ON COLUMN evidence_documents.created_at IS 'When it was first stored.';
CREATE TRIGGER evidence_documents_append_only BEFORE UPDATE OR DELETE ON evidence_documents
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();

ALTER TABLE organisation_facts ADD COLUMN posted_status TEXT NOT NULL DEFAULT 'verified'
    CONSTRAINT organisation_facts_posted_status_check CHECK (posted_status IN ('submitted', 'verified'));
ALTER TABLE organisation_facts ADD COLUMN evidence_sha256 TEXT NULL
    CONSTRAINT organisation_facts_evidence_fk REFERENCES evidence_documents (sha256);
COMMENT ON COLUMN organisation_facts.posted_status IS 'Status when posted: verified (the network''s own fact, or recorded before review existed) or submitted (declared by the beneficiary; a fact_decisions row decides it).';
COMMENT ON COLUMN organisation_facts.evidence_sha256 IS 'The SHA-256 of the attached evidence document, if any.';

CREATE TABLE fact_decisions (
    fact_id    UUID        NOT NULL CONSTRAINT fact_decisions_pk PRIMARY KEY
                           CONSTRAINT fact_decisions_fact_fk REFERENCES organisation_facts (id),
    decision   TEXT        NOT NULL CONSTRAINT fact_decisions_decision_check CHECK (decision IN ('verified', 'rejected')),
    reason     TEXT        NULL,
    decided_by TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT fact_decisions_reason_check CHECK (decision = 'verified' OR reason IS NOT NULL)
);
COMMENT ON TABLE fact_decisions IS 'The network''s decision on a submitted fact (one at most: a decision is final). Append-only.';
COMMENT ON COLUMN fact_decisions.fact_id IS 'The submitted fact decided.';
COMMENT ON COLUMN fact_decisions.decision IS 'verified (the fact counts from its as_of date) or rejected (it never counts).';
COMMENT ON COLUMN fact_decisions.reason IS 'Why it was rejected (required for a rejection).';
COMMENT ON COLUMN fact_decisions.decided_by IS 'Subject and organisation of the deciding admin.';
COMMENT ON COLUMN fact_decisions.created_at IS 'When it was decided.';
CREATE TRIGGER fact_decisions_append_only BEFORE UPDATE OR DELETE ON fact_decisions
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();

-- Organisation details as versions (issue 18.1): name, contact, covered members and fee schedule
-- change from an effective date. The organisations row stays as registered (version 0, in force
-- until a version takes effect); each version is a full snapshot of the details. No cache holds
-- versions, so every instance reads the version in force.
CREATE TABLE organisation_versions (
    organisation_id UUID        NOT NULL CONSTRAINT organisation_versions_organisation_fk REFERENCES organisations (id),
    version_number  INTEGER     NOT NULL CONSTRAINT organisation_versions_number_check CHECK (version_number >= 1),
    effective_from  DATE        NOT NULL CONSTRAINT organisation_versions_effective_from_fund_date
                                CHECK (effective_from BETWEEN DATE '2000-01-01' AND DATE '2099-12-31'),
    name            TEXT        NOT NULL,
    contact         TEXT        NULL,
    covered_members BIGINT      NULL CONSTRAINT organisation_versions_members_check CHECK (covered_members >= 0),
    fee_fixed_minor BIGINT      NULL CONSTRAINT organisation_versions_fee_fixed_check CHECK (fee_fixed_minor >= 0),
    fee_currency    TEXT        NULL,
    fee_percent     TEXT        NULL,
    changed_fields  TEXT        NOT NULL,
    changed_by      TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT organisation_versions_pk PRIMARY KEY (organisation_id, version_number),
    CONSTRAINT organisation_versions_fee_check CHECK ((fee_fixed_minor IS NULL) = (fee_percent IS NULL) AND (fee_fixed_minor IS NULL) = (fee_currency IS NULL))
);
COMMENT ON TABLE organisation_versions IS 'Versions of an organisation''s details, each a full snapshot in force from its effective date. Append-only.';
COMMENT ON COLUMN organisation_versions.organisation_id IS 'The organisation.';
COMMENT ON COLUMN organisation_versions.version_number IS '1, 2, ...: the order versions were recorded (the organisations row is version 0); two writers racing for one number: one is refused.';
COMMENT ON COLUMN organisation_versions.effective_from IS 'The date from which this version is in force; never before the previous version''s.';
COMMENT ON COLUMN organisation_versions.name IS 'The organisation''s name from that date.';
COMMENT ON COLUMN organisation_versions.contact IS 'Who to reach (a person, an address, a telephone), free text.';
COMMENT ON COLUMN organisation_versions.covered_members IS 'Members covered from that date (the weight of pro-rata allocation).';
COMMENT ON COLUMN organisation_versions.fee_fixed_minor IS 'A beneficiary''s expected fixed bank fee per transfer, minor units of fee_currency (NULL: the programme''s schedule applies).';
COMMENT ON COLUMN organisation_versions.fee_currency IS 'Currency of fee_fixed_minor (EUR).';
COMMENT ON COLUMN organisation_versions.fee_percent IS 'Expected percentage fee of the amount sent, decimal string.';
COMMENT ON COLUMN organisation_versions.changed_fields IS 'The fields this version changed against the previous one, comma-separated (name,contact,covered_members,fee_schedule).';
COMMENT ON COLUMN organisation_versions.changed_by IS 'Subject and organisation of the admin who recorded it.';
COMMENT ON COLUMN organisation_versions.created_at IS 'When it was recorded.';
CREATE TRIGGER organisation_versions_append_only BEFORE UPDATE OR DELETE ON organisation_versions
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();

-- Bank accounts (issue 18.2) of beneficiaries and of the network (its collection account). A new
-- account takes effect only once a second admin approved it (four eyes: the request is a proposal
-- until then, migration 0013); each row is an account in force from when it was recorded, until
-- the next. A transfer is paid to the account that was in force when its run was planned.
CREATE TABLE bank_accounts (
    organisation_id UUID        NOT NULL CONSTRAINT bank_accounts_organisation_fk REFERENCES organisations (id),
    version_number  INTEGER     NOT NULL CONSTRAINT bank_accounts_number_check CHECK (version_number >= 1),
    holder_name     TEXT        NOT NULL,
    iban            TEXT        NULL,
    account_number  TEXT        NULL,
    bic             TEXT        NULL,
    currency        TEXT        NOT NULL,
    proposed_by     TEXT        NOT NULL,
    approved_by     TEXT        NULL,
    proposal_id     UUID        NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT bank_accounts_pk PRIMARY KEY (organisation_id, version_number),
    CONSTRAINT bank_accounts_identifier_check CHECK ((iban IS NULL) <> (account_number IS NULL) AND (account_number IS NULL OR bic IS NOT NULL))
);
COMMENT ON TABLE bank_accounts IS 'Bank accounts of beneficiaries and of the network, each in force from when it was recorded (after a second admin approved it) until the next. Append-only.';
COMMENT ON COLUMN bank_accounts.organisation_id IS 'The beneficiary, or the network (its collection account).';
COMMENT ON COLUMN bank_accounts.version_number IS '1, 2, ...: the order accounts were recorded; two writers racing for one number: one is refused.';
COMMENT ON COLUMN bank_accounts.holder_name IS 'The account holder''s name, as the bank knows it.';
COMMENT ON COLUMN bank_accounts.iban IS 'The IBAN, electronic form (checksum and country format checked), or NULL for a national account.';
COMMENT ON COLUMN bank_accounts.account_number IS 'The national account number where the country has no IBAN (then bic is required).';
COMMENT ON COLUMN bank_accounts.bic IS 'The bank''s BIC (ISO 9362), 8 or 11 characters.';
COMMENT ON COLUMN bank_accounts.currency IS 'ISO 4217 currency of the account.';
COMMENT ON COLUMN bank_accounts.proposed_by IS 'The admin who asked for the account.';
COMMENT ON COLUMN bank_accounts.approved_by IS 'The second admin who approved it (NULL in a one-admin setup).';
COMMENT ON COLUMN bank_accounts.proposal_id IS 'The four-eyes proposal it was approved through.';
COMMENT ON COLUMN bank_accounts.created_at IS 'When it was recorded: it is in force from then.';
CREATE TRIGGER bank_accounts_append_only BEFORE UPDATE OR DELETE ON bank_accounts
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();

-- Programme rules as versions (issue 18.3): conditions and their parameters, allocation policy,
-- minimum transfer and admin cap change from a period on. The programmes row stays as opened
-- (version 0); a run uses the version of its period and records which.
CREATE TABLE programme_versions (
    programme_id           UUID        NOT NULL CONSTRAINT programme_versions_programme_fk REFERENCES programmes (id),
    version_number         INTEGER     NOT NULL CONSTRAINT programme_versions_number_check CHECK (version_number >= 1),
    effective_period       TEXT        NOT NULL,
    effective_from         DATE        NOT NULL,
    allocation             TEXT        NOT NULL,
    conditions             TEXT        NOT NULL,
    minimum_transfer_minor BIGINT      NOT NULL CONSTRAINT programme_versions_minimum_check CHECK (minimum_transfer_minor >= 0),
    admin_cost_cap_percent TEXT        NOT NULL,
    changed_fields         TEXT        NOT NULL,
    changed_by             TEXT        NOT NULL,
    created_at             TIMESTAMPTZ NOT NULL,
    CONSTRAINT programme_versions_pk PRIMARY KEY (programme_id, version_number)
);
COMMENT ON TABLE programme_versions IS 'Versions of a programme''s rules, each a full snapshot in force from the start of its period. Append-only.';
COMMENT ON COLUMN programme_versions.programme_id IS 'The programme.';
COMMENT ON COLUMN programme_versions.version_number IS '1, 2, ...: the order versions were recorded (the programmes row is version 0).';
COMMENT ON COLUMN programme_versions.effective_period IS 'The first period the version applies to, in the programme''s form (2026-10, 2026-Q4, 2026).';
COMMENT ON COLUMN programme_versions.effective_from IS 'The start of effective_period; never before the previous version''s.';
COMMENT ON COLUMN programme_versions.allocation IS 'The allocation policy as JSON.';
COMMENT ON COLUMN programme_versions.conditions IS 'The redistribution conditions and their parameters as JSON.';
COMMENT ON COLUMN programme_versions.minimum_transfer_minor IS 'Shares below this are carried forward, minor units of the programme''s currency.';
COMMENT ON COLUMN programme_versions.admin_cost_cap_percent IS 'Maximum administration share of a report, decimal string.';
COMMENT ON COLUMN programme_versions.changed_fields IS 'The rules this version changed, comma-separated.';
COMMENT ON COLUMN programme_versions.changed_by IS 'Subject and organisation of the admin who recorded it.';
COMMENT ON COLUMN programme_versions.created_at IS 'When it was recorded.';
CREATE TRIGGER programme_versions_append_only BEFORE UPDATE OR DELETE ON programme_versions
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();

ALTER TABLE transfer_runs ADD COLUMN programme_version INTEGER NOT NULL DEFAULT 0;
COMMENT ON COLUMN transfer_runs.programme_version IS 'The version of the programme''s rules the run used (0: as opened; runs before migration 0014 used those).';

-- Money from other currencies (issue 18.5): what a union actually sent (e.g. 1,650.00 CAD) and the
-- bank's rate, beside the EUR credited (amount_minor), which is what counts.
ALTER TABLE batch_receipts ADD COLUMN original_amount_minor BIGINT NULL;
ALTER TABLE batch_receipts ADD COLUMN original_currency TEXT NULL;
ALTER TABLE batch_receipts ADD COLUMN original_rate TEXT NULL;
ALTER TABLE batch_receipts ADD CONSTRAINT batch_receipts_original_check
    CHECK ((original_amount_minor IS NULL) = (original_currency IS NULL) AND (original_currency IS NULL) = (original_rate IS NULL)
           AND (original_amount_minor IS NULL OR original_amount_minor > 0));
COMMENT ON COLUMN batch_receipts.original_amount_minor IS 'What the contributor sent, minor units of original_currency (NULL: sent in the programme''s currency).';
COMMENT ON COLUMN batch_receipts.original_currency IS 'ISO 4217 currency the contributor sent.';
COMMENT ON COLUMN batch_receipts.original_rate IS 'The bank''s rate: units of original_currency per unit credited, decimal string.';
