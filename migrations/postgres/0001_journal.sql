-- The journal's ground floor: organisations, accounts, the append-only hash-chained journal, derived
-- balances, the chain head and idempotency records. PostgreSQL dialect; migrations/sqlite mirrors it.

CREATE TABLE organisations (
    id                  UUID        NOT NULL CONSTRAINT organisations_pk PRIMARY KEY,
    slug                TEXT        NOT NULL CONSTRAINT organisations_slug_unique UNIQUE,
    name                TEXT        NOT NULL,
    kind                TEXT        NOT NULL CONSTRAINT organisations_kind_check
                                    CHECK (kind IN ('contributor', 'beneficiary', 'network', 'auditor')),
    country             TEXT        NOT NULL,
    currency            TEXT        NOT NULL,
    covered_members     BIGINT      NULL,
    registry_identifier TEXT        NULL,
    created_at          TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE organisations IS 'Contributors (northern unions and mutuals), beneficiaries (southern mutuals), the network and auditors.';
COMMENT ON COLUMN organisations.slug IS 'Stable short name used in tokens and URLs.';
COMMENT ON COLUMN organisations.country IS 'ISO 3166-1 alpha-2 country code.';
COMMENT ON COLUMN organisations.currency IS 'ISO 4217 code of the organisation''s local currency.';
COMMENT ON COLUMN organisations.covered_members IS 'Members the organisation covers, when known (allocation weight).';
COMMENT ON COLUMN organisations.registry_identifier IS 'Optional IATI organisation identifier such as FR-RNA-...';

CREATE TABLE accounts (
    id                    UUID        NOT NULL CONSTRAINT accounts_pk PRIMARY KEY,
    code                  TEXT        NOT NULL CONSTRAINT accounts_code_unique UNIQUE,
    name                  TEXT        NOT NULL,
    kind                  TEXT        NOT NULL CONSTRAINT accounts_kind_check
                          CHECK (kind IN ('asset', 'liability', 'net_assets', 'income', 'expense')),
    currency              TEXT        NOT NULL,
    owner_organisation_id UUID        NULL CONSTRAINT accounts_owner_fk REFERENCES organisations (id),
    created_at            TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE accounts IS 'The chart of accounts; an account is opened once and never changes.';
COMMENT ON COLUMN accounts.code IS 'Stable code such as programme:<id>:pool.';
COMMENT ON COLUMN accounts.currency IS 'ISO 4217 code; every posting on the account is in it.';
COMMENT ON COLUMN accounts.owner_organisation_id IS 'Organisation whose money the account tracks; NULL for the fund''s own.';

CREATE TABLE journal_transactions (
    sequence              BIGINT      NOT NULL CONSTRAINT journal_transactions_pk PRIMARY KEY
                          CONSTRAINT journal_transactions_sequence_check CHECK (sequence > 0),
    transaction_id        UUID        NOT NULL CONSTRAINT journal_transactions_id_unique UNIQUE,
    kind                  TEXT        NOT NULL,
    effective_date        DATE        NOT NULL,
    recorded_at           TIMESTAMPTZ NOT NULL,
    actor_subject         TEXT        NOT NULL,
    actor_organisation_id UUID        NULL,
    memo                  TEXT        NOT NULL,
    metadata              TEXT        NOT NULL,
    posting_count         INTEGER     NOT NULL,
    previous_hash         BYTEA       NOT NULL,
    hash                  BYTEA       NOT NULL
);
COMMENT ON TABLE journal_transactions IS 'One row per committed transaction, in chain order; append-only.';
COMMENT ON COLUMN journal_transactions.sequence IS 'Position in the chain, gapless from 1.';
COMMENT ON COLUMN journal_transactions.kind IS 'pledge, receipt, reversal, ... (hashed as text).';
COMMENT ON COLUMN journal_transactions.effective_date IS 'Accounting (value) date.';
COMMENT ON COLUMN journal_transactions.recorded_at IS 'When the ledger recorded it; hashed to the microsecond.';
COMMENT ON COLUMN journal_transactions.actor_subject IS 'JWT sub of who made it, or system.';
COMMENT ON COLUMN journal_transactions.actor_organisation_id IS 'JWT org of who made it.';
COMMENT ON COLUMN journal_transactions.metadata IS 'Canonical JSON object text; TEXT, not JSONB, because it is hashed byte for byte.';
COMMENT ON COLUMN journal_transactions.previous_hash IS 'Hash of sequence - 1; 32 zero bytes for sequence 1.';
COMMENT ON COLUMN journal_transactions.hash IS 'SHA-256(previous_hash || SLJ1 encoding), see docs/hash-chain.md.';

CREATE TABLE journal_postings (
    sequence      BIGINT  NOT NULL CONSTRAINT journal_postings_transaction_fk REFERENCES journal_transactions (sequence),
    posting_index INTEGER NOT NULL,
    account_id    UUID    NOT NULL CONSTRAINT journal_postings_account_fk REFERENCES accounts (id),
    currency      TEXT    NOT NULL,
    amount_minor  BIGINT  NOT NULL CONSTRAINT journal_postings_nonzero CHECK (amount_minor <> 0),
    CONSTRAINT journal_postings_pk PRIMARY KEY (sequence, posting_index)
);
COMMENT ON TABLE journal_postings IS 'Legs of each transaction; append-only.';
COMMENT ON COLUMN journal_postings.posting_index IS 'Order within the transaction (hashed).';
COMMENT ON COLUMN journal_postings.currency IS 'ISO 4217 code of the amount.';
COMMENT ON COLUMN journal_postings.amount_minor IS 'Signed minor units: debit positive, credit negative.';

CREATE INDEX journal_postings_by_account ON journal_postings (account_id, sequence);

CREATE TABLE account_balances (
    account_id    UUID   NOT NULL CONSTRAINT account_balances_pk PRIMARY KEY
                  CONSTRAINT account_balances_account_fk REFERENCES accounts (id),
    balance_minor BIGINT NOT NULL,
    last_sequence BIGINT NOT NULL
);
COMMENT ON TABLE account_balances IS 'Current balance per account, kept at write time; verify checks it against the postings.';
COMMENT ON COLUMN account_balances.balance_minor IS 'Sum of the account''s postings in minor units.';
COMMENT ON COLUMN account_balances.last_sequence IS 'Last transaction that moved the account.';

CREATE TABLE chain_head (
    id            SMALLINT NOT NULL CONSTRAINT chain_head_pk PRIMARY KEY CONSTRAINT chain_head_single_row CHECK (id = 1),
    last_sequence BIGINT   NOT NULL,
    last_hash     BYTEA    NOT NULL
);
COMMENT ON TABLE chain_head IS 'The one row every append locks (FOR UPDATE), serialising appends across service instances.';
COMMENT ON COLUMN chain_head.last_sequence IS 'Last committed sequence; 0 for an empty journal.';
COMMENT ON COLUMN chain_head.last_hash IS 'Hash of the last committed transaction; 32 zero bytes (genesis) when empty.';
INSERT INTO chain_head (id, last_sequence, last_hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE TABLE idempotency_records (
    scope               TEXT        NOT NULL,
    idempotency_key     TEXT        NOT NULL,
    request_fingerprint BYTEA       NOT NULL,
    response_status     INTEGER     NOT NULL,
    response_body       TEXT        NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    CONSTRAINT idempotency_records_pk PRIMARY KEY (scope, idempotency_key)
);
COMMENT ON TABLE idempotency_records IS 'Responses to idempotent requests, written in the same database transaction as their effect; keys never expire.';
COMMENT ON COLUMN idempotency_records.scope IS 'Whose key: the caller''s organisation (or subject).';
COMMENT ON COLUMN idempotency_records.request_fingerprint IS 'SHA-256 of method, path and body.';
COMMENT ON COLUMN idempotency_records.response_status IS 'HTTP status first returned.';
COMMENT ON COLUMN idempotency_records.response_body IS 'Body first returned.';

-- Append-only: the database itself refuses to change or remove history.
CREATE FUNCTION refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'append_only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER journal_transactions_append_only BEFORE UPDATE OR DELETE ON journal_transactions
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER journal_transactions_no_truncate BEFORE TRUNCATE ON journal_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER journal_postings_append_only BEFORE UPDATE OR DELETE ON journal_postings
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER journal_postings_no_truncate BEFORE TRUNCATE ON journal_postings
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER accounts_append_only BEFORE UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER idempotency_records_append_only BEFORE UPDATE OR DELETE ON idempotency_records
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
