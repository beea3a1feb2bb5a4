-- Programmes and the contributors' side of the fund: contribution batches with their lines, bank
-- receipts and reversals. Each row that moves money points at the journal transaction that posted it.
-- PostgreSQL dialect; migrations/sqlite mirrors it.

INSERT INTO organisations (id, slug, name, kind, country, currency, covered_members, registry_identifier, created_at)
VALUES ('00000000-0000-0000-0000-000000000001', 'network', 'Education and Solidarity Network', 'network', 'FR', 'EUR',
        NULL, NULL, '2026-01-01T00:00:00Z');

CREATE TABLE programmes (
    id                     UUID        NOT NULL CONSTRAINT programmes_pk PRIMARY KEY,
    name                   TEXT        NOT NULL CONSTRAINT programmes_name_unique UNIQUE,
    currency               TEXT        NOT NULL,
    rate_per_member_minor  BIGINT      NOT NULL CONSTRAINT programmes_rate_positive CHECK (rate_per_member_minor > 0),
    period_kind            TEXT        NOT NULL CONSTRAINT programmes_period_kind_check
                                       CHECK (period_kind IN ('month', 'quarter', 'year')),
    allocation             TEXT        NOT NULL,
    conditions             TEXT        NOT NULL,
    minimum_transfer_minor BIGINT      NOT NULL CONSTRAINT programmes_minimum_transfer_check CHECK (minimum_transfer_minor >= 0),
    admin_cost_cap_percent TEXT        NOT NULL,
    created_at             TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE programmes IS 'Programmes of the fund and the rules each fixes.';
COMMENT ON COLUMN programmes.currency IS 'ISO 4217; EUR, the solidarity euro.';
COMMENT ON COLUMN programmes.rate_per_member_minor IS 'Contribution per member per period, minor units (100 = 1.00 EUR).';
COMMENT ON COLUMN programmes.period_kind IS 'month, quarter or year: the form of batch periods.';
COMMENT ON COLUMN programmes.allocation IS 'Allocation policy as JSON (pro rata to covered members, or fixed weights).';
COMMENT ON COLUMN programmes.conditions IS 'Redistribution conditions with parameters, JSON array.';
COMMENT ON COLUMN programmes.minimum_transfer_minor IS 'Shares below this are carried forward.';
COMMENT ON COLUMN programmes.admin_cost_cap_percent IS 'Maximum administration share of a redistribution report, decimal string.';

CREATE TABLE contribution_batches (
    id                     UUID        NOT NULL CONSTRAINT contribution_batches_pk PRIMARY KEY,
    programme_id           UUID        NOT NULL CONSTRAINT contribution_batches_programme_fk REFERENCES programmes (id),
    contributor_id         UUID        NOT NULL CONSTRAINT contribution_batches_contributor_fk REFERENCES organisations (id),
    period                 TEXT        NOT NULL,
    earmark_beneficiary_id UUID        NULL CONSTRAINT contribution_batches_earmark_fk REFERENCES organisations (id),
    currency               TEXT        NOT NULL,
    members_total          BIGINT      NOT NULL,
    amount_minor           BIGINT      NOT NULL CONSTRAINT contribution_batches_amount_positive CHECK (amount_minor > 0),
    solidarity_minor       BIGINT      NOT NULL,
    donation_minor         BIGINT      NOT NULL,
    line_count             INTEGER     NOT NULL,
    receivable_account_id  UUID        NOT NULL CONSTRAINT contribution_batches_receivable_fk REFERENCES accounts (id),
    pledge_transaction_id  UUID        NOT NULL CONSTRAINT contribution_batches_pledge_fk REFERENCES journal_transactions (transaction_id),
    submitted_by           TEXT        NOT NULL,
    created_at             TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE contribution_batches IS 'A contributor''s statement of members and amounts for one period; append-only.';
COMMENT ON COLUMN contribution_batches.period IS 'In the programme''s form: 2026-11, 2026-Q4 or 2026.';
COMMENT ON COLUMN contribution_batches.earmark_beneficiary_id IS 'Restricted funds: only this beneficiary may receive them.';
COMMENT ON COLUMN contribution_batches.members_total IS 'Members on solidarity lines.';
COMMENT ON COLUMN contribution_batches.amount_minor IS 'Solidarity plus donations, minor units.';
COMMENT ON COLUMN contribution_batches.receivable_account_id IS 'The batch''s own receivable account: its balance is what is still due.';
COMMENT ON COLUMN contribution_batches.pledge_transaction_id IS 'The journal transaction that posted the pledge.';
COMMENT ON COLUMN contribution_batches.submitted_by IS 'JWT sub of the submitter.';
CREATE INDEX contribution_batches_by_contributor ON contribution_batches (contributor_id, id);
CREATE INDEX contribution_batches_by_period ON contribution_batches (programme_id, period);

CREATE TABLE contribution_lines (
    batch_id     UUID    NOT NULL CONSTRAINT contribution_lines_batch_fk REFERENCES contribution_batches (id),
    line_index   INTEGER NOT NULL,
    reference    TEXT    NOT NULL,
    members      BIGINT  NOT NULL,
    amount_minor BIGINT  NOT NULL,
    kind         TEXT    NOT NULL CONSTRAINT contribution_lines_kind_check CHECK (kind IN ('solidarity', 'donation')),
    CONSTRAINT contribution_lines_pk PRIMARY KEY (batch_id, line_index)
);
COMMENT ON TABLE contribution_lines IS 'Lines of a batch (sections, branches, donations) as submitted.';
COMMENT ON COLUMN contribution_lines.line_index IS 'Position in the submitted batch.';
COMMENT ON COLUMN contribution_lines.reference IS 'Section or branch reference.';

CREATE TABLE batch_receipts (
    id                UUID        NOT NULL CONSTRAINT batch_receipts_pk PRIMARY KEY,
    batch_id          UUID        NOT NULL CONSTRAINT batch_receipts_batch_fk REFERENCES contribution_batches (id),
    amount_minor      BIGINT      NOT NULL CONSTRAINT batch_receipts_amount_positive CHECK (amount_minor > 0),
    overpayment_minor BIGINT      NOT NULL,
    value_date        DATE        NOT NULL,
    bank_reference    TEXT        NOT NULL,
    transaction_id    UUID        NOT NULL CONSTRAINT batch_receipts_transaction_fk REFERENCES journal_transactions (transaction_id),
    recorded_by       TEXT        NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE batch_receipts IS 'Bank receipts matched to a batch; append-only.';
COMMENT ON COLUMN batch_receipts.amount_minor IS 'Received in total, minor units.';
COMMENT ON COLUMN batch_receipts.overpayment_minor IS 'Part above what was due, recorded as a donation.';
COMMENT ON COLUMN batch_receipts.bank_reference IS 'The bank''s reference (camt AcctSvcrRef or EndToEndId).';
CREATE INDEX batch_receipts_by_batch ON batch_receipts (batch_id);

CREATE TABLE batch_reversals (
    batch_id       UUID        NOT NULL CONSTRAINT batch_reversals_pk PRIMARY KEY
                   CONSTRAINT batch_reversals_batch_fk REFERENCES contribution_batches (id),
    reason         TEXT        NOT NULL,
    transaction_id UUID        NOT NULL CONSTRAINT batch_reversals_transaction_fk REFERENCES journal_transactions (transaction_id),
    recorded_by    TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE batch_reversals IS 'The reversal of a batch (at most one), with its reason; append-only.';

CREATE TRIGGER programmes_no_delete BEFORE DELETE ON programmes
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER contribution_batches_append_only BEFORE UPDATE OR DELETE ON contribution_batches
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER contribution_lines_append_only BEFORE UPDATE OR DELETE ON contribution_lines
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER batch_receipts_append_only BEFORE UPDATE OR DELETE ON batch_receipts
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER batch_reversals_append_only BEFORE UPDATE OR DELETE ON batch_reversals
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
