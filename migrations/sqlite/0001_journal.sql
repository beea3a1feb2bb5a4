-- The journal's ground floor: organisations, accounts, the append-only hash-chained journal, derived
-- balances, the chain head and idempotency records. SQLite dialect; migrations/postgres mirrors it.

-- Organisations: contributors (northern unions and mutuals), beneficiaries (southern mutuals), the
-- network and auditors.
CREATE TABLE organisations (
    id                  BLOB    NOT NULL CONSTRAINT organisations_pk PRIMARY KEY, -- UUID
    slug                TEXT    NOT NULL CONSTRAINT organisations_slug_unique UNIQUE, -- stable short name
    name                TEXT    NOT NULL,                                          -- display name
    kind                TEXT    NOT NULL CONSTRAINT organisations_kind_check
                                CHECK (kind IN ('contributor', 'beneficiary', 'network', 'auditor')),
    country             TEXT    NOT NULL,                                          -- ISO 3166-1 alpha-2
    currency            TEXT    NOT NULL,                                          -- ISO 4217: local currency
    covered_members     INTEGER NULL,                                              -- members covered, if known
    registry_identifier TEXT    NULL,                                              -- IATI organisation identifier
    created_at          TEXT    NOT NULL                                           -- RFC 3339 UTC
) STRICT;

-- The chart of accounts. An account is opened once and never changes.
CREATE TABLE accounts (
    id                    BLOB NOT NULL CONSTRAINT accounts_pk PRIMARY KEY,  -- UUID
    code                  TEXT NOT NULL CONSTRAINT accounts_code_unique UNIQUE, -- stable code, e.g. programme:<id>:pool
    name                  TEXT NOT NULL,                                      -- human description
    kind                  TEXT NOT NULL CONSTRAINT accounts_kind_check
                          CHECK (kind IN ('asset', 'liability', 'net_assets', 'income', 'expense')),
    currency              TEXT NOT NULL,                                      -- ISO 4217; postings must match
    owner_organisation_id BLOB NULL CONSTRAINT accounts_owner_fk REFERENCES organisations (id), -- whose money
    created_at            TEXT NOT NULL                                       -- RFC 3339 UTC
) STRICT;

-- One row per committed transaction, in chain order.
CREATE TABLE journal_transactions (
    sequence              INTEGER NOT NULL CONSTRAINT journal_transactions_pk PRIMARY KEY
                          CONSTRAINT journal_transactions_sequence_check CHECK (sequence > 0), -- gapless from 1
    transaction_id        BLOB    NOT NULL CONSTRAINT journal_transactions_id_unique UNIQUE,    -- UUID
    kind                  TEXT    NOT NULL,               -- pledge, receipt, ... (hashed as text)
    effective_date        TEXT    NOT NULL,               -- accounting date YYYY-MM-DD
    recorded_at           TEXT    NOT NULL,               -- when recorded, RFC 3339 UTC (hashed to the microsecond)
    actor_subject         TEXT    NOT NULL,               -- JWT sub of who made it, or 'system'
    actor_organisation_id BLOB    NULL,                   -- JWT org of who made it
    memo                  TEXT    NOT NULL,               -- human explanation
    metadata              TEXT    NOT NULL,               -- canonical JSON object text; hashed byte for byte, hence TEXT
    posting_count         INTEGER NOT NULL,               -- postings belonging to this transaction
    previous_hash         BLOB    NOT NULL,               -- hash of sequence - 1 (32 zero bytes for 1)
    hash                  BLOB    NOT NULL                -- SHA-256(previous_hash || SLJ1 encoding)
) STRICT;

-- The legs of each transaction: signed minor units, debit positive, credit negative.
CREATE TABLE journal_postings (
    sequence      INTEGER NOT NULL CONSTRAINT journal_postings_transaction_fk
                  REFERENCES journal_transactions (sequence),   -- owning transaction
    posting_index INTEGER NOT NULL,                             -- order within the transaction (hashed)
    account_id    BLOB    NOT NULL CONSTRAINT journal_postings_account_fk REFERENCES accounts (id),
    currency      TEXT    NOT NULL,                             -- ISO 4217 of the amount
    amount_minor  INTEGER NOT NULL CONSTRAINT journal_postings_nonzero CHECK (amount_minor <> 0),
    CONSTRAINT journal_postings_pk PRIMARY KEY (sequence, posting_index)
) STRICT;

CREATE INDEX journal_postings_by_account ON journal_postings (account_id, sequence);

-- Current balance of every account that has postings; derived state kept at write time and checked
-- against the postings by `verify`.
CREATE TABLE account_balances (
    account_id    BLOB    NOT NULL CONSTRAINT account_balances_pk PRIMARY KEY
                  CONSTRAINT account_balances_account_fk REFERENCES accounts (id),
    balance_minor INTEGER NOT NULL,   -- sum of the account's postings
    last_sequence INTEGER NOT NULL    -- last transaction that moved it
) STRICT;

-- The single row every append locks: the last sequence and hash of the chain.
CREATE TABLE chain_head (
    id            INTEGER NOT NULL CONSTRAINT chain_head_pk PRIMARY KEY CONSTRAINT chain_head_single_row CHECK (id = 1),
    last_sequence INTEGER NOT NULL,   -- 0 when the journal is empty
    last_hash     BLOB    NOT NULL    -- 32 zero bytes (genesis) when the journal is empty
) STRICT;
INSERT INTO chain_head (id, last_sequence, last_hash) VALUES (1, 0, zeroblob(32));

-- Responses to idempotent requests, stored in the same database transaction as their effect. Keys
-- never expire.
CREATE TABLE idempotency_records (
    scope               TEXT    NOT NULL,  -- whose key: the caller's organisation (or subject)
    idempotency_key     TEXT    NOT NULL,  -- the Idempotency-Key header
    request_fingerprint BLOB    NOT NULL,  -- SHA-256 of method, path and body
    response_status     INTEGER NOT NULL,  -- HTTP status first returned
    response_body       TEXT    NOT NULL,  -- body first returned
    created_at          TEXT    NOT NULL,  -- RFC 3339 UTC
    CONSTRAINT idempotency_records_pk PRIMARY KEY (scope, idempotency_key)
) STRICT;

-- Append-only: the database itself refuses to change or remove history.
CREATE TRIGGER journal_transactions_no_update BEFORE UPDATE ON journal_transactions
BEGIN SELECT RAISE(ABORT, 'append_only: journal_transactions cannot be updated'); END;
CREATE TRIGGER journal_transactions_no_delete BEFORE DELETE ON journal_transactions
BEGIN SELECT RAISE(ABORT, 'append_only: journal_transactions cannot be deleted'); END;
CREATE TRIGGER journal_postings_no_update BEFORE UPDATE ON journal_postings
BEGIN SELECT RAISE(ABORT, 'append_only: journal_postings cannot be updated'); END;
CREATE TRIGGER journal_postings_no_delete BEFORE DELETE ON journal_postings
BEGIN SELECT RAISE(ABORT, 'append_only: journal_postings cannot be deleted'); END;
CREATE TRIGGER accounts_no_update BEFORE UPDATE ON accounts
BEGIN SELECT RAISE(ABORT, 'append_only: accounts cannot be updated'); END;
CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts
BEGIN SELECT RAISE(ABORT, 'append_only: accounts cannot be deleted'); END;
CREATE TRIGGER idempotency_records_no_update BEFORE UPDATE ON idempotency_records
BEGIN SELECT RAISE(ABORT, 'append_only: idempotency_records cannot be updated'); END;
CREATE TRIGGER idempotency_records_no_delete BEFORE DELETE ON idempotency_records
BEGIN SELECT RAISE(ABORT, 'append_only: idempotency_records cannot be deleted'); END;
