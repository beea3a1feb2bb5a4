-- A transfer's debit is matched once (camt.053 import): at most one statement entry names a
-- transfer, whichever statement it came in. The import leaves a second debit with the same
-- EndToEndId unmatched; this index is the store's guarantee when two imports race. No new column.
-- SQLite dialect; migrations/postgres mirrors it.
CREATE UNIQUE INDEX bank_statement_entries_transfer_once
    ON bank_statement_entries (transfer_id) WHERE transfer_id IS NOT NULL;
