-- Bank statements in (issue 19, item 3): camt.053 statements of the network's collection account,
-- kept with every entry's raw identifiers, and the network's decision on each entry the import
-- could not match. Every table is append-only. SQLite dialect; migrations/postgres mirrors it and
-- carries the column comments.

CREATE TABLE bank_statements (
    id               BLOB    NOT NULL CONSTRAINT bank_statements_pk PRIMARY KEY,        -- UUIDv7 of the import
    statement_id     TEXT    NOT NULL CONSTRAINT bank_statements_statement_id_check
                             CHECK (length(statement_id) BETWEEN 1 AND 35),              -- Stmt/Id as written
    account          TEXT    NOT NULL CONSTRAINT bank_statements_account_check
                             CHECK (length(account) BETWEEN 1 AND 34),                   -- IBAN (electronic form) or Othr/Id
    account_kind     TEXT    NOT NULL CONSTRAINT bank_statements_account_kind_check
                             CHECK (account_kind IN ('iban', 'other')),                  -- which element named the account
    camt_version     TEXT    NOT NULL CONSTRAINT bank_statements_camt_version_check
                             CHECK (camt_version IN ('camt.053.001.02', 'camt.053.001.08')),
    message_id       TEXT    NULL,                                                       -- GrpHdr/MsgId
    currency         TEXT    NOT NULL,                                                   -- ISO 4217 of the account
    entries_count    INTEGER NOT NULL CONSTRAINT bank_statements_entries_count_check CHECK (entries_count >= 0),
    document_sha256  TEXT    NOT NULL CONSTRAINT bank_statements_document_sha256_check
                             CHECK (length(document_sha256) = 64 AND document_sha256 NOT GLOB '*[^0-9a-f]*'),
    imported_by      TEXT    NOT NULL,                                                   -- JWT sub and organisation
    created_at       TEXT    NOT NULL,                                                   -- when imported
    CONSTRAINT bank_statements_statement_account_unique UNIQUE (statement_id, account)
) STRICT;

CREATE TABLE bank_statement_entries (
    id                          BLOB    NOT NULL CONSTRAINT bank_statement_entries_pk PRIMARY KEY,  -- UUIDv7 of the line
    bank_statement_id           BLOB    NOT NULL CONSTRAINT bank_statement_entries_statement_fk REFERENCES bank_statements (id),
    line_number                 INTEGER NOT NULL CONSTRAINT bank_statement_entries_line_check CHECK (line_number >= 1),  -- Ntry[n]
    direction                   TEXT    NOT NULL CONSTRAINT bank_statement_entries_direction_check CHECK (direction IN ('CRDT', 'DBIT')),
    amount_minor                INTEGER NOT NULL CONSTRAINT bank_statement_entries_amount_positive CHECK (amount_minor > 0),
    currency                    TEXT    NOT NULL,   -- Amt/@Ccy
    entry_status                TEXT    NOT NULL,   -- Sts: BOOK, PDNG, INFO...
    booking_date                TEXT    NULL,       -- BookgDt
    value_date                  TEXT    NULL,       -- ValDt
    entry_reference             TEXT    NULL,       -- NtryRef
    account_servicer_reference  TEXT    NULL,       -- AcctSvcrRef of the entry
    bank_transaction_code       TEXT    NULL,       -- BkTxCd: Domain/Family/SubFamily;Proprietary
    charges_minor               INTEGER NULL CONSTRAINT bank_statement_entries_charges_check CHECK (charges_minor IS NULL OR charges_minor >= 0),
    transactions                TEXT    NOT NULL,   -- every TxDtls as JSON, raw identifiers
    end_to_end_id               TEXT    NULL,       -- the first transaction's EndToEndId
    creditor_reference          TEXT    NULL,       -- the first RmtInf/Strd/CdtrRefInf/Ref, as written
    debtor_name                 TEXT    NULL,       -- the first transaction's debtor
    outcome                     TEXT    NOT NULL CONSTRAINT bank_statement_entries_outcome_check
                                        CHECK (outcome IN ('receipt', 'transfer_debit', 'charge', 'unmatched', 'not_booked')),
    outcome_detail              TEXT    NULL,       -- why unmatched
    batch_receipt_id            BLOB    NULL CONSTRAINT bank_statement_entries_receipt_fk REFERENCES batch_receipts (id),
    transfer_id                 BLOB    NULL CONSTRAINT bank_statement_entries_transfer_fk REFERENCES transfers (id),
    charge_transaction_id       BLOB    NULL CONSTRAINT bank_statement_entries_charge_fk REFERENCES journal_transactions (transaction_id),
    created_at                  TEXT    NOT NULL,   -- when imported
    CONSTRAINT bank_statement_entries_line_unique UNIQUE (bank_statement_id, line_number),
    CONSTRAINT bank_statement_entries_receipt_check CHECK ((outcome = 'receipt') = (batch_receipt_id IS NOT NULL)),
    CONSTRAINT bank_statement_entries_transfer_check CHECK (outcome <> 'transfer_debit' OR transfer_id IS NOT NULL)
) STRICT;
CREATE INDEX bank_statement_entries_by_outcome ON bank_statement_entries (outcome, id);
CREATE INDEX bank_statement_entries_by_receipt ON bank_statement_entries (batch_receipt_id);

CREATE TABLE bank_statement_entry_decisions (
    entry_id          BLOB NOT NULL CONSTRAINT bank_statement_entry_decisions_pk PRIMARY KEY
                           CONSTRAINT bank_statement_entry_decisions_entry_fk REFERENCES bank_statement_entries (id),
    decision          TEXT NOT NULL CONSTRAINT bank_statement_entry_decisions_decision_check
                           CHECK (decision IN ('assigned', 'not_ours')),
    batch_receipt_id  BLOB NULL CONSTRAINT bank_statement_entry_decisions_receipt_fk REFERENCES batch_receipts (id),  -- the receipt booked
    reason            TEXT NULL,   -- why not ours
    decided_by        TEXT NOT NULL,   -- JWT sub and organisation
    created_at        TEXT NOT NULL,
    CONSTRAINT bank_statement_entry_decisions_shape_check CHECK (
        (decision = 'assigned' AND batch_receipt_id IS NOT NULL)
        OR (decision = 'not_ours' AND batch_receipt_id IS NULL AND reason IS NOT NULL))
) STRICT;

CREATE TRIGGER bank_statements_no_update BEFORE UPDATE ON bank_statements
BEGIN SELECT RAISE(ABORT, 'append_only: bank_statements cannot be updated'); END;
CREATE TRIGGER bank_statements_no_delete BEFORE DELETE ON bank_statements
BEGIN SELECT RAISE(ABORT, 'append_only: bank_statements cannot be deleted'); END;
CREATE TRIGGER bank_statement_entries_no_update BEFORE UPDATE ON bank_statement_entries
BEGIN SELECT RAISE(ABORT, 'append_only: bank_statement_entries cannot be updated'); END;
CREATE TRIGGER bank_statement_entries_no_delete BEFORE DELETE ON bank_statement_entries
BEGIN SELECT RAISE(ABORT, 'append_only: bank_statement_entries cannot be deleted'); END;
CREATE TRIGGER bank_statement_entry_decisions_no_update BEFORE UPDATE ON bank_statement_entry_decisions
BEGIN SELECT RAISE(ABORT, 'append_only: bank_statement_entry_decisions cannot be updated'); END;
CREATE TRIGGER bank_statement_entry_decisions_no_delete BEFORE DELETE ON bank_statement_entry_decisions
BEGIN SELECT RAISE(ABORT, 'append_only: bank_statement_entry_decisions cannot be deleted'); END;
