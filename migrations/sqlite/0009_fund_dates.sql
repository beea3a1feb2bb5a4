-- Dates and periods within the fund's life (issue 15). SQLite dialect; migrations/postgres
-- mirrors it and carries the column comments.
--
-- SQLite stores a date as text and compares it as text. That orders dates correctly only when
-- every date has the one form `YYYY-MM-DD` with four year digits: `+99999-12-31` sorted before
-- `2026-11-30`, so a receipt dated year 99999 counted in a 2026-11 pool. The API now parses every
-- date through `ledger_core::time::FundDate` (2000-01-01 to 2099-12-31, that form only), and these
-- triggers hold the database to the same form and range: the year GLOB admits 2000–2099 only, and
-- `date(x) IS x` admits only a real day written canonically (SQLite normalises 2026-02-30 to
-- 2026-03-02, which differs). Periods likewise: `2026-11`, `2026-Q4` or `2026`, years 2000–2099.
--
-- SQLite cannot add a CHECK constraint to an existing table without rebuilding it (and its
-- append-only triggers and indexes); a BEFORE INSERT trigger is the same check for every row
-- written from now on. Rows are never updated (append-only triggers), so inserts are the only way
-- in.
--
-- Existing rows: nothing needs converting (dates were always written `YYYY-MM-DD` by the store;
-- only out-of-range years got another width). History is append-only and the hash chain covers
-- effective dates, so a row recorded before this migration outside the bounds (possible only
-- through the defect this closes) stays as recorded and is still read. To find such rows and
-- correct each with a reversal:
--   SELECT id, value_date FROM batch_receipts
--    WHERE NOT (value_date GLOB '20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date(value_date) IS value_date);
--   (and likewise for each column below).

CREATE TRIGGER journal_transactions_effective_date_fund_date BEFORE INSERT ON journal_transactions
WHEN NOT (NEW.effective_date GLOB '20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date(NEW.effective_date) IS NEW.effective_date)
BEGIN SELECT RAISE(ABORT, 'fund_date: journal_transactions.effective_date must be YYYY-MM-DD between 2000-01-01 and 2099-12-31'); END;

CREATE TRIGGER batch_receipts_value_date_fund_date BEFORE INSERT ON batch_receipts
WHEN NOT (NEW.value_date GLOB '20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date(NEW.value_date) IS NEW.value_date)
BEGIN SELECT RAISE(ABORT, 'fund_date: batch_receipts.value_date must be YYYY-MM-DD between 2000-01-01 and 2099-12-31'); END;

CREATE TRIGGER organisation_facts_as_of_fund_date BEFORE INSERT ON organisation_facts
WHEN NOT (NEW.as_of GLOB '20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date(NEW.as_of) IS NEW.as_of)
BEGIN SELECT RAISE(ABORT, 'fund_date: organisation_facts.as_of must be YYYY-MM-DD between 2000-01-01 and 2099-12-31'); END;

CREATE TRIGGER transfer_runs_as_of_fund_date BEFORE INSERT ON transfer_runs
WHEN NOT (NEW.as_of GLOB '20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date(NEW.as_of) IS NEW.as_of)
BEGIN SELECT RAISE(ABORT, 'fund_date: transfer_runs.as_of must be YYYY-MM-DD between 2000-01-01 and 2099-12-31'); END;

CREATE TRIGGER transfer_confirmations_value_date_fund_date BEFORE INSERT ON transfer_confirmations
WHEN NOT (NEW.value_date GLOB '20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date(NEW.value_date) IS NEW.value_date)
BEGIN SELECT RAISE(ABORT, 'fund_date: transfer_confirmations.value_date must be YYYY-MM-DD between 2000-01-01 and 2099-12-31'); END;

CREATE TRIGGER contribution_batches_period_fund_period BEFORE INSERT ON contribution_batches
WHEN NOT (NEW.period GLOB '20[0-9][0-9]'
          OR NEW.period GLOB '20[0-9][0-9]-Q[1-4]'
          OR (NEW.period GLOB '20[0-9][0-9]-[0-9][0-9]' AND substr(NEW.period, 6, 2) BETWEEN '01' AND '12'))
BEGIN SELECT RAISE(ABORT, 'fund_period: contribution_batches.period must be 2026-11, 2026-Q4 or 2026 with a year 2000 to 2099'); END;

CREATE TRIGGER transfer_runs_period_fund_period BEFORE INSERT ON transfer_runs
WHEN NOT (NEW.period GLOB '20[0-9][0-9]'
          OR NEW.period GLOB '20[0-9][0-9]-Q[1-4]'
          OR (NEW.period GLOB '20[0-9][0-9]-[0-9][0-9]' AND substr(NEW.period, 6, 2) BETWEEN '01' AND '12'))
BEGIN SELECT RAISE(ABORT, 'fund_period: transfer_runs.period must be 2026-11, 2026-Q4 or 2026 with a year 2000 to 2099'); END;

CREATE TRIGGER transfers_period_fund_period BEFORE INSERT ON transfers
WHEN NOT (NEW.period GLOB '20[0-9][0-9]'
          OR NEW.period GLOB '20[0-9][0-9]-Q[1-4]'
          OR (NEW.period GLOB '20[0-9][0-9]-[0-9][0-9]' AND substr(NEW.period, 6, 2) BETWEEN '01' AND '12'))
BEGIN SELECT RAISE(ABORT, 'fund_period: transfers.period must be 2026-11, 2026-Q4 or 2026 with a year 2000 to 2099'); END;

CREATE TRIGGER redistribution_reports_period_fund_period BEFORE INSERT ON redistribution_reports
WHEN NOT (NEW.period GLOB '20[0-9][0-9]'
          OR NEW.period GLOB '20[0-9][0-9]-Q[1-4]'
          OR (NEW.period GLOB '20[0-9][0-9]-[0-9][0-9]' AND substr(NEW.period, 6, 2) BETWEEN '01' AND '12'))
BEGIN SELECT RAISE(ABORT, 'fund_period: redistribution_reports.period must be 2026-11, 2026-Q4 or 2026 with a year 2000 to 2099'); END;
