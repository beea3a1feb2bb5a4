-- A transfer's debit is matched once (camt.053 import): at most one statement entry names a
-- transfer, whichever statement it came in. The import leaves a second debit with the same
-- EndToEndId unmatched; this index is the store's guarantee when two imports race. No new column.
-- PostgreSQL dialect; migrations/sqlite mirrors it.
CREATE UNIQUE INDEX bank_statement_entries_transfer_once
    ON bank_statement_entries (transfer_id) WHERE transfer_id IS NOT NULL;
COMMENT ON INDEX bank_statement_entries_transfer_once IS 'A transfer is matched by at most one statement entry (its bank debit).';
COMMENT ON COLUMN bank_statement_entries.outcome_detail IS 'Why an entry is unmatched (a repeated transfer debit names the entry that matched it first), or, for a settled transfer''s debit with charges, how they met the expected fee its settlement booked, in words.';
