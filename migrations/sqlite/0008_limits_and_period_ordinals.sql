-- Issue 15: balances stay far inside their integer range, and listing batches stays linear.
-- SQLite dialect; migrations/postgres/0008_limits_and_period_ordinals.sql explains the why.
--
-- SQLite cannot add a CHECK constraint to an existing table: the limits are triggers that refuse
-- the row, naming the constraint PostgreSQL uses, so the store maps both alike. Like PostgreSQL's
-- NOT VALID constraints, they judge rows written from now on.

ALTER TABLE contribution_batches ADD COLUMN period_ordinal INTEGER NOT NULL DEFAULT 0;  -- place among the contributor's batches for this programme and period, 1 for the first (greater than 1: supplementary)
ALTER TABLE contribution_batches ADD COLUMN period_total_minor INTEGER NOT NULL DEFAULT 0;  -- pledged by those batches up to and including this one, at most MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR

-- Backfilling existing batches is the one update this append-only table receives here.
DROP TRIGGER contribution_batches_no_update;
UPDATE contribution_batches
SET period_ordinal = ranked.ordinal,
    period_total_minor = ranked.total
FROM (
    SELECT id,
           ROW_NUMBER() OVER in_period AS ordinal,
           SUM(amount_minor) OVER in_period AS total
    FROM contribution_batches
    WINDOW in_period AS (PARTITION BY contributor_id, programme_id, period ORDER BY id
                         ROWS UNBOUNDED PRECEDING)
) AS ranked
WHERE ranked.id = contribution_batches.id;
CREATE TRIGGER contribution_batches_no_update BEFORE UPDATE ON contribution_batches
BEGIN SELECT RAISE(ABORT, 'append_only: contribution_batches cannot be updated'); END;

-- One batch per place; also the index that finds a period's latest batch.
CREATE UNIQUE INDEX contribution_batches_period_ordinal_unique
    ON contribution_batches (contributor_id, programme_id, period, period_ordinal);

CREATE TRIGGER contribution_batches_period_ordinal_positive BEFORE INSERT ON contribution_batches
WHEN NEW.period_ordinal < 1
BEGIN SELECT RAISE(ABORT, 'contribution_batches_period_ordinal_positive: a batch needs its place in its period'); END;

CREATE TRIGGER contribution_batches_period_total_within_limit BEFORE INSERT ON contribution_batches
WHEN NEW.period_total_minor > 10000000000000
BEGIN SELECT RAISE(ABORT, 'contribution_batches_period_total_within_limit: the contributor''s period total would pass max_contributor_period_amount'); END;

CREATE TRIGGER account_balances_within_limit_insert BEFORE INSERT ON account_balances
WHEN NEW.balance_minor > 100000000000000000 OR NEW.balance_minor < -100000000000000000
BEGIN SELECT RAISE(ABORT, 'account_balances_within_limit: a balance would pass max_account_balance'); END;

CREATE TRIGGER account_balances_within_limit_update BEFORE UPDATE ON account_balances
WHEN NEW.balance_minor > 100000000000000000 OR NEW.balance_minor < -100000000000000000
BEGIN SELECT RAISE(ABORT, 'account_balances_within_limit: a balance would pass max_account_balance'); END;
