-- Dates and periods within the fund's life (issue 15).
--
-- Every calendar date the fund stores lies between 2000-01-01 and 2099-12-31, and every period is
-- written in one of its three forms (`2026-11`, `2026-Q4`, `2026`) within the same years: the
-- bounds of `ledger_core::time::FundDate` and `ledger_core::Period`, which the API parses every
-- date and period through. The database repeats the bounds so that no path (another door, a
-- script, a bug) can store a date such as +99999-12-31 again.
--
-- The date columns have been DATE since migrations 0001–0003, so PostgreSQL already compares them
-- as dates; nothing is converted. (SQLite stores them as text, which compares correctly only
-- because the form is fixed: its migration 0009 enforces that form.)
--
-- Existing rows: history is append-only and the hash chain covers each transaction's effective
-- date, so this migration neither rewrites nor deletes a row. The constraints are added NOT VALID:
-- every row inserted from now on is checked, and a row recorded before this migration outside the
-- bounds (possible only through the defect this closes, e.g. a receipt dated year 99999) stays as
-- recorded and is still read. To find such rows, and correct each with a reversal:
--   SELECT 'batch_receipts', id::text, value_date::text FROM batch_receipts
--    WHERE value_date NOT BETWEEN DATE '2000-01-01' AND DATE '2099-12-31'
--   (and likewise for each column below).

ALTER TABLE journal_transactions ADD CONSTRAINT journal_transactions_effective_date_fund_date
    CHECK (effective_date BETWEEN DATE '2000-01-01' AND DATE '2099-12-31') NOT VALID;
ALTER TABLE batch_receipts ADD CONSTRAINT batch_receipts_value_date_fund_date
    CHECK (value_date BETWEEN DATE '2000-01-01' AND DATE '2099-12-31') NOT VALID;
ALTER TABLE organisation_facts ADD CONSTRAINT organisation_facts_as_of_fund_date
    CHECK (as_of BETWEEN DATE '2000-01-01' AND DATE '2099-12-31') NOT VALID;
ALTER TABLE transfer_runs ADD CONSTRAINT transfer_runs_as_of_fund_date
    CHECK (as_of BETWEEN DATE '2000-01-01' AND DATE '2099-12-31') NOT VALID;
ALTER TABLE transfer_confirmations ADD CONSTRAINT transfer_confirmations_value_date_fund_date
    CHECK (value_date BETWEEN DATE '2000-01-01' AND DATE '2099-12-31') NOT VALID;

ALTER TABLE contribution_batches ADD CONSTRAINT contribution_batches_period_fund_period
    CHECK (period ~ '^20[0-9]{2}(-(0[1-9]|1[0-2])|-Q[1-4])?$') NOT VALID;
ALTER TABLE transfer_runs ADD CONSTRAINT transfer_runs_period_fund_period
    CHECK (period ~ '^20[0-9]{2}(-(0[1-9]|1[0-2])|-Q[1-4])?$') NOT VALID;
ALTER TABLE transfers ADD CONSTRAINT transfers_period_fund_period
    CHECK (period ~ '^20[0-9]{2}(-(0[1-9]|1[0-2])|-Q[1-4])?$') NOT VALID;
ALTER TABLE redistribution_reports ADD CONSTRAINT redistribution_reports_period_fund_period
    CHECK (period ~ '^20[0-9]{2}(-(0[1-9]|1[0-2])|-Q[1-4])?$') NOT VALID;

COMMENT ON COLUMN journal_transactions.effective_date IS 'Accounting (value) date of the transaction; between 2000-01-01 and 2099-12-31 (constraint journal_transactions_effective_date_fund_date).';
COMMENT ON COLUMN batch_receipts.value_date IS 'The bank value date of the receipt; between 2000-01-01 and 2099-12-31 (constraint batch_receipts_value_date_fund_date).';
COMMENT ON COLUMN organisation_facts.as_of IS 'The date from which the fact holds; between 2000-01-01 and 2099-12-31 (constraint organisation_facts_as_of_fund_date).';
COMMENT ON COLUMN transfer_runs.as_of IS 'The end of the period the run planned; between 2000-01-01 and 2099-12-31 (constraint transfer_runs_as_of_fund_date).';
COMMENT ON COLUMN transfer_confirmations.value_date IS 'The value date the beneficiary''s bank credited the transfer; between 2000-01-01 and 2099-12-31 (constraint transfer_confirmations_value_date_fund_date).';
COMMENT ON COLUMN contribution_batches.period IS 'The period pledged for, in the programme''s form: 2026-11, 2026-Q4 or 2026, years 2000 to 2099 (constraint contribution_batches_period_fund_period).';
COMMENT ON COLUMN transfer_runs.period IS 'The period planned: 2026-11, 2026-Q4 or 2026, years 2000 to 2099 (constraint transfer_runs_period_fund_period).';
COMMENT ON COLUMN transfers.period IS 'The period of the run that made the transfer: 2026-11, 2026-Q4 or 2026, years 2000 to 2099 (constraint transfers_period_fund_period).';
COMMENT ON COLUMN redistribution_reports.period IS 'The period reported on: 2026-11, 2026-Q4 or 2026, years 2000 to 2099 (constraint redistribution_reports_period_fund_period).';
