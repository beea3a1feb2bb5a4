-- Why a statement entry is unmatched (or how a settled transfer's charges met its expected fee),
-- as a code beside the words of outcome_detail, so pages can say it in the reader's language.
-- Entries imported before this migration have none (their words remain). PostgreSQL dialect;
-- migrations/sqlite mirrors it.
ALTER TABLE bank_statement_entries ADD COLUMN outcome_code TEXT NULL;
COMMENT ON COLUMN bank_statement_entries.outcome_code IS 'Why the entry is unmatched, or how a settled transfer''s charges met its expected fee, as a code (ledger_app::bank_statements::OUTCOME_CODES); the words are outcome_detail. NULL for entries without a detail and for those imported before migration 0024.';
