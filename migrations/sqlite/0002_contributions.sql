-- Programmes and the contributors' side of the fund: contribution batches with their lines, bank
-- receipts and reversals. Each row that moves money points at the journal transaction that posted it.
-- SQLite dialect; migrations/postgres mirrors it.

-- The network that runs the fund exists from the start (fixed id, so tokens can name it).
INSERT INTO organisations (id, slug, name, kind, country, currency, covered_members, registry_identifier, created_at)
VALUES (X'00000000000000000000000000000001', 'network', 'Education and Solidarity Network', 'network', 'FR', 'EUR',
        NULL, NULL, '2026-01-01T00:00:00Z');

CREATE TABLE programmes (
    id                      BLOB    NOT NULL CONSTRAINT programmes_pk PRIMARY KEY,  -- UUID
    name                    TEXT    NOT NULL CONSTRAINT programmes_name_unique UNIQUE,
    currency                TEXT    NOT NULL,  -- ISO 4217, EUR: the solidarity euro
    rate_per_member_minor   INTEGER NOT NULL CONSTRAINT programmes_rate_positive CHECK (rate_per_member_minor > 0),
    period_kind             TEXT    NOT NULL CONSTRAINT programmes_period_kind_check
                                    CHECK (period_kind IN ('month', 'quarter', 'year')),
    allocation              TEXT    NOT NULL,  -- allocation policy, JSON
    conditions              TEXT    NOT NULL,  -- redistribution conditions with parameters, JSON array
    minimum_transfer_minor  INTEGER NOT NULL CONSTRAINT programmes_minimum_transfer_check CHECK (minimum_transfer_minor >= 0),
    admin_cost_cap_percent  TEXT    NOT NULL,  -- decimal string, 0 to 100
    created_at              TEXT    NOT NULL   -- RFC 3339 UTC
) STRICT;

CREATE TABLE contribution_batches (
    id                     BLOB    NOT NULL CONSTRAINT contribution_batches_pk PRIMARY KEY, -- UUID
    programme_id           BLOB    NOT NULL CONSTRAINT contribution_batches_programme_fk REFERENCES programmes (id),
    contributor_id         BLOB    NOT NULL CONSTRAINT contribution_batches_contributor_fk REFERENCES organisations (id),
    period                 TEXT    NOT NULL,  -- in the programme's form: 2026-11, 2026-Q4, 2026
    earmark_beneficiary_id BLOB    NULL CONSTRAINT contribution_batches_earmark_fk REFERENCES organisations (id),
    currency               TEXT    NOT NULL,  -- the programme's currency
    members_total          INTEGER NOT NULL,  -- members on solidarity lines
    amount_minor           INTEGER NOT NULL CONSTRAINT contribution_batches_amount_positive CHECK (amount_minor > 0),
    solidarity_minor       INTEGER NOT NULL,  -- members × rate
    donation_minor         INTEGER NOT NULL,  -- extra donations
    line_count             INTEGER NOT NULL,
    receivable_account_id  BLOB    NOT NULL CONSTRAINT contribution_batches_receivable_fk REFERENCES accounts (id), -- what is still due
    pledge_transaction_id  BLOB    NOT NULL CONSTRAINT contribution_batches_pledge_fk REFERENCES journal_transactions (transaction_id),
    submitted_by           TEXT    NOT NULL,  -- JWT sub
    created_at             TEXT    NOT NULL   -- RFC 3339 UTC
) STRICT;
CREATE INDEX contribution_batches_by_contributor ON contribution_batches (contributor_id, id);
CREATE INDEX contribution_batches_by_period ON contribution_batches (programme_id, period);

CREATE TABLE contribution_lines (
    batch_id     BLOB    NOT NULL CONSTRAINT contribution_lines_batch_fk REFERENCES contribution_batches (id),
    line_index   INTEGER NOT NULL,  -- position in the submitted batch
    reference    TEXT    NOT NULL,  -- section or branch
    members      INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL,
    kind         TEXT    NOT NULL CONSTRAINT contribution_lines_kind_check CHECK (kind IN ('solidarity', 'donation')),
    CONSTRAINT contribution_lines_pk PRIMARY KEY (batch_id, line_index)
) STRICT;

CREATE TABLE batch_receipts (
    id                BLOB    NOT NULL CONSTRAINT batch_receipts_pk PRIMARY KEY,  -- UUID
    batch_id          BLOB    NOT NULL CONSTRAINT batch_receipts_batch_fk REFERENCES contribution_batches (id),
    amount_minor      INTEGER NOT NULL CONSTRAINT batch_receipts_amount_positive CHECK (amount_minor > 0), -- received in total
    overpayment_minor INTEGER NOT NULL,  -- part above what was due, recorded as a donation
    value_date        TEXT    NOT NULL,  -- bank value date YYYY-MM-DD
    bank_reference    TEXT    NOT NULL,  -- the bank's reference (camt AcctSvcrRef / EndToEndId)
    transaction_id    BLOB    NOT NULL CONSTRAINT batch_receipts_transaction_fk REFERENCES journal_transactions (transaction_id),
    recorded_by       TEXT    NOT NULL,  -- JWT sub
    created_at        TEXT    NOT NULL
) STRICT;
CREATE INDEX batch_receipts_by_batch ON batch_receipts (batch_id);

CREATE TABLE batch_reversals (
    batch_id       BLOB NOT NULL CONSTRAINT batch_reversals_pk PRIMARY KEY
                   CONSTRAINT batch_reversals_batch_fk REFERENCES contribution_batches (id), -- one reversal per batch
    reason         TEXT NOT NULL,
    transaction_id BLOB NOT NULL CONSTRAINT batch_reversals_transaction_fk REFERENCES journal_transactions (transaction_id),
    recorded_by    TEXT NOT NULL,
    created_at     TEXT NOT NULL
) STRICT;

CREATE TRIGGER programmes_no_delete BEFORE DELETE ON programmes
BEGIN SELECT RAISE(ABORT, 'append_only: programmes cannot be deleted'); END;
CREATE TRIGGER contribution_batches_no_update BEFORE UPDATE ON contribution_batches
BEGIN SELECT RAISE(ABORT, 'append_only: contribution_batches cannot be updated'); END;
CREATE TRIGGER contribution_batches_no_delete BEFORE DELETE ON contribution_batches
BEGIN SELECT RAISE(ABORT, 'append_only: contribution_batches cannot be deleted'); END;
CREATE TRIGGER contribution_lines_no_update BEFORE UPDATE ON contribution_lines
BEGIN SELECT RAISE(ABORT, 'append_only: contribution_lines cannot be updated'); END;
CREATE TRIGGER contribution_lines_no_delete BEFORE DELETE ON contribution_lines
BEGIN SELECT RAISE(ABORT, 'append_only: contribution_lines cannot be deleted'); END;
CREATE TRIGGER batch_receipts_no_update BEFORE UPDATE ON batch_receipts
BEGIN SELECT RAISE(ABORT, 'append_only: batch_receipts cannot be updated'); END;
CREATE TRIGGER batch_receipts_no_delete BEFORE DELETE ON batch_receipts
BEGIN SELECT RAISE(ABORT, 'append_only: batch_receipts cannot be deleted'); END;
CREATE TRIGGER batch_reversals_no_update BEFORE UPDATE ON batch_reversals
BEGIN SELECT RAISE(ABORT, 'append_only: batch_reversals cannot be updated'); END;
CREATE TRIGGER batch_reversals_no_delete BEFORE DELETE ON batch_reversals
BEGIN SELECT RAISE(ABORT, 'append_only: batch_reversals cannot be deleted'); END;
