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
