-- Why a statement entry is unmatched (or how a settled transfer's charges met its expected fee),
-- as a code beside the words of outcome_detail, so pages can say it in the reader's language.
-- Entries imported before this migration have none (their words remain). SQLite dialect;
-- migrations/postgres mirrors it.
ALTER TABLE bank_statement_entries ADD COLUMN outcome_code TEXT NULL; -- e.g. no_reference, unknown_end_to_end_id, charges_excess
