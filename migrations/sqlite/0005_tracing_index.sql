-- Tracing follows what each batch still owes from the postings on its receivable account: find a
-- batch by that account.
CREATE INDEX contribution_batches_by_receivable ON contribution_batches (receivable_account_id);
