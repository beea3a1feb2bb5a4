-- Bank statements in (issue 19, item 3): camt.053 statements of the network's collection account,
-- kept with every entry's raw identifiers, so an auditor can trace a receipt to its statement
-- line; and the network's decision on each entry the import could not match. One statement is
-- imported once per (statement id, account). Every table is append-only. PostgreSQL dialect;
-- migrations/sqlite mirrors it.

CREATE TABLE bank_statements (
    id                    UUID        NOT NULL CONSTRAINT bank_statements_pk PRIMARY KEY,
    statement_id          TEXT        NOT NULL CONSTRAINT bank_statements_statement_id_check
                                      CHECK (length(statement_id) BETWEEN 1 AND 35),
    account               TEXT        NOT NULL CONSTRAINT bank_statements_account_check
                                      CHECK (length(account) BETWEEN 1 AND 34),
    account_kind          TEXT        NOT NULL CONSTRAINT bank_statements_account_kind_check
                                      CHECK (account_kind IN ('iban', 'other')),
    camt_version          TEXT        NOT NULL CONSTRAINT bank_statements_camt_version_check
                                      CHECK (camt_version IN ('camt.053.001.02', 'camt.053.001.08')),
    message_id            TEXT        NULL,
    currency              TEXT        NOT NULL,
    entries_count         INTEGER     NOT NULL CONSTRAINT bank_statements_entries_count_check CHECK (entries_count >= 0),
    document_sha256       TEXT        NOT NULL CONSTRAINT bank_statements_document_sha256_check
                                      CHECK (document_sha256 ~ '^[0-9a-f]{64}$'),
    imported_by           TEXT        NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    CONSTRAINT bank_statements_statement_account_unique UNIQUE (statement_id, account)
);
COMMENT ON TABLE bank_statements IS 'camt.053 statements imported (append-only); one per statement id and account.';
COMMENT ON COLUMN bank_statements.id IS 'Our id of the import (UUIDv7).';
COMMENT ON COLUMN bank_statements.statement_id IS 'The bank''s statement identifier (Stmt/Id), as written.';
COMMENT ON COLUMN bank_statements.account IS 'The account the statement is for: an IBAN in electronic form, or Acct/Id/Othr/Id.';
COMMENT ON COLUMN bank_statements.account_kind IS 'iban or other: which element named the account.';
COMMENT ON COLUMN bank_statements.camt_version IS 'The version the file was written in.';
COMMENT ON COLUMN bank_statements.message_id IS 'GrpHdr/MsgId of the file, when given.';
COMMENT ON COLUMN bank_statements.currency IS 'ISO 4217 currency of the account.';
COMMENT ON COLUMN bank_statements.entries_count IS 'How many entries (Ntry) the statement has.';
COMMENT ON COLUMN bank_statements.document_sha256 IS 'SHA-256 of the file as uploaded, hex.';
COMMENT ON COLUMN bank_statements.imported_by IS 'JWT sub and organisation of the admin who imported it.';
COMMENT ON COLUMN bank_statements.created_at IS 'When it was imported.';

CREATE TABLE bank_statement_entries (
    id                          UUID        NOT NULL CONSTRAINT bank_statement_entries_pk PRIMARY KEY,
    bank_statement_id           UUID        NOT NULL CONSTRAINT bank_statement_entries_statement_fk REFERENCES bank_statements (id),
    line_number                 INTEGER     NOT NULL CONSTRAINT bank_statement_entries_line_check CHECK (line_number >= 1),
    direction                   TEXT        NOT NULL CONSTRAINT bank_statement_entries_direction_check CHECK (direction IN ('CRDT', 'DBIT')),
    amount_minor                BIGINT      NOT NULL CONSTRAINT bank_statement_entries_amount_positive CHECK (amount_minor > 0),
    currency                    TEXT        NOT NULL,
    entry_status                TEXT        NOT NULL,
    booking_date                DATE        NULL,
    value_date                  DATE        NULL,
    entry_reference             TEXT        NULL,
    account_servicer_reference  TEXT        NULL,
    bank_transaction_code       TEXT        NULL,
    charges_minor               BIGINT      NULL CONSTRAINT bank_statement_entries_charges_check CHECK (charges_minor IS NULL OR charges_minor >= 0),
    transactions                TEXT        NOT NULL,
    end_to_end_id               TEXT        NULL,
    creditor_reference          TEXT        NULL,
    debtor_name                 TEXT        NULL,
    outcome                     TEXT        NOT NULL CONSTRAINT bank_statement_entries_outcome_check
                                            CHECK (outcome IN ('receipt', 'transfer_debit', 'charge', 'unmatched', 'not_booked')),
    outcome_detail              TEXT        NULL,
    batch_receipt_id            UUID        NULL CONSTRAINT bank_statement_entries_receipt_fk REFERENCES batch_receipts (id),
    transfer_id                 UUID        NULL CONSTRAINT bank_statement_entries_transfer_fk REFERENCES transfers (id),
    charge_transaction_id       UUID        NULL CONSTRAINT bank_statement_entries_charge_fk REFERENCES journal_transactions (transaction_id),
    created_at                  TIMESTAMPTZ NOT NULL,
    CONSTRAINT bank_statement_entries_line_unique UNIQUE (bank_statement_id, line_number),
    CONSTRAINT bank_statement_entries_receipt_check CHECK ((outcome = 'receipt') = (batch_receipt_id IS NOT NULL)),
    CONSTRAINT bank_statement_entries_transfer_check CHECK (outcome <> 'transfer_debit' OR transfer_id IS NOT NULL)
);
COMMENT ON TABLE bank_statement_entries IS 'Every entry (Ntry) of an imported statement with its raw identifiers and what the import did with it (append-only).';
COMMENT ON COLUMN bank_statement_entries.id IS 'Our id of the statement line (UUIDv7).';
COMMENT ON COLUMN bank_statement_entries.bank_statement_id IS 'The import it belongs to.';
COMMENT ON COLUMN bank_statement_entries.line_number IS '1-based position of the entry in the statement (Ntry[n]).';
COMMENT ON COLUMN bank_statement_entries.direction IS 'CdtDbtInd: CRDT (money in) or DBIT (money out).';
COMMENT ON COLUMN bank_statement_entries.amount_minor IS 'Amt, minor units of currency.';
COMMENT ON COLUMN bank_statement_entries.currency IS 'Amt/@Ccy, ISO 4217.';
COMMENT ON COLUMN bank_statement_entries.entry_status IS 'Sts as written: BOOK, PDNG, INFO...';
COMMENT ON COLUMN bank_statement_entries.booking_date IS 'BookgDt (its date).';
COMMENT ON COLUMN bank_statement_entries.value_date IS 'ValDt (its date).';
COMMENT ON COLUMN bank_statement_entries.entry_reference IS 'NtryRef as written.';
COMMENT ON COLUMN bank_statement_entries.account_servicer_reference IS 'The bank''s reference of the entry (AcctSvcrRef).';
COMMENT ON COLUMN bank_statement_entries.bank_transaction_code IS 'BkTxCd as Domain/Family/SubFamily, the proprietary code after a semicolon.';
COMMENT ON COLUMN bank_statement_entries.charges_minor IS 'Chrgs: the total charges of the entry, minor units; NULL when none.';
COMMENT ON COLUMN bank_statement_entries.transactions IS 'Every TxDtls as JSON: EndToEndId, TxId, AcctSvcrRef, debtor and creditor names, creditor reference, unstructured remittance.';
COMMENT ON COLUMN bank_statement_entries.end_to_end_id IS 'The first transaction''s EndToEndId (a debit: our transfer''s reference).';
COMMENT ON COLUMN bank_statement_entries.creditor_reference IS 'The first structured creditor reference (RmtInf/Strd/CdtrRefInf/Ref), as written.';
COMMENT ON COLUMN bank_statement_entries.debtor_name IS 'The first transaction''s debtor (the payer of a credit).';
COMMENT ON COLUMN bank_statement_entries.outcome IS 'receipt (booked on a batch), transfer_debit (the bank''s debit of our transfer), charge (a bank charge booked to fee coverage), unmatched (awaits the network), not_booked (status other than BOOK).';
COMMENT ON COLUMN bank_statement_entries.outcome_detail IS 'Why an entry is unmatched, in words.';
COMMENT ON COLUMN bank_statement_entries.batch_receipt_id IS 'The receipt the entry was booked as (outcome receipt).';
COMMENT ON COLUMN bank_statement_entries.transfer_id IS 'The transfer a debit was matched to by EndToEndId.';
COMMENT ON COLUMN bank_statement_entries.charge_transaction_id IS 'The bank-charge transaction booked to fee coverage for the entry''s charges (or the entry itself, a charge).';
COMMENT ON COLUMN bank_statement_entries.created_at IS 'When it was imported.';
CREATE INDEX bank_statement_entries_by_outcome ON bank_statement_entries (outcome, id);
CREATE INDEX bank_statement_entries_by_receipt ON bank_statement_entries (batch_receipt_id);

CREATE TABLE bank_statement_entry_decisions (
    entry_id          UUID        NOT NULL CONSTRAINT bank_statement_entry_decisions_pk PRIMARY KEY
                                  CONSTRAINT bank_statement_entry_decisions_entry_fk REFERENCES bank_statement_entries (id),
    decision          TEXT        NOT NULL CONSTRAINT bank_statement_entry_decisions_decision_check
                                  CHECK (decision IN ('assigned', 'not_ours')),
    batch_receipt_id  UUID        NULL CONSTRAINT bank_statement_entry_decisions_receipt_fk REFERENCES batch_receipts (id),
    reason            TEXT        NULL,
    decided_by        TEXT        NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    CONSTRAINT bank_statement_entry_decisions_shape_check CHECK (
        (decision = 'assigned' AND batch_receipt_id IS NOT NULL)
        OR (decision = 'not_ours' AND batch_receipt_id IS NULL AND reason IS NOT NULL))
);
COMMENT ON TABLE bank_statement_entry_decisions IS 'The network''s decision on an unmatched statement entry: assigned to a batch (a receipt) or not ours (append-only; one per entry).';
COMMENT ON COLUMN bank_statement_entry_decisions.entry_id IS 'The statement line decided.';
COMMENT ON COLUMN bank_statement_entry_decisions.decision IS 'assigned or not_ours.';
COMMENT ON COLUMN bank_statement_entry_decisions.batch_receipt_id IS 'The receipt booked on the batch it was assigned to.';
COMMENT ON COLUMN bank_statement_entry_decisions.reason IS 'Why it is not ours (not_ours); an optional note otherwise.';
COMMENT ON COLUMN bank_statement_entry_decisions.decided_by IS 'JWT sub and organisation of the admin.';
COMMENT ON COLUMN bank_statement_entry_decisions.created_at IS 'When it was decided.';

CREATE TRIGGER bank_statements_append_only BEFORE UPDATE OR DELETE ON bank_statements
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER bank_statement_entries_append_only BEFORE UPDATE OR DELETE ON bank_statement_entries
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER bank_statement_entry_decisions_append_only BEFORE UPDATE OR DELETE ON bank_statement_entry_decisions
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
