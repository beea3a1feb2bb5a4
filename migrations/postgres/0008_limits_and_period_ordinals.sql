-- Issue 15: balances stay far inside their integer range, and listing batches stays linear.
--
-- 1. Each batch keeps, in its own row, its place among its contributor's batches for the same
--    programme and period (`period_ordinal`, 1 for the first) and the running total pledged by
--    those batches (`period_total_minor`). Both are computed when the batch is written, under the
--    chain-head lock that serialises every write, so a list shows "supplementary" without counting
--    earlier batches per row (a correlated COUNT made a page of 1,000 batches take 11–14 s with
--    100,000 batches in one period), and the contributor's period limit is checked in O(log n).
-- 2. The database refuses what ledger_core::limits refuses, so no path can leave them:
--    MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR (10^13) and MAX_ACCOUNT_BALANCE_MINOR (10^17), with the
--    same numbers (the conformance tests write at and past each limit on both engines).
--    NOT VALID: rows written before this migration are not re-checked; a row beyond a limit (only
--    possible from before it) takes no further change that leaves it beyond.

ALTER TABLE contribution_batches
    ADD COLUMN period_ordinal     BIGINT,
    ADD COLUMN period_total_minor BIGINT;

-- Backfilling existing batches is the one update this append-only table receives here.
ALTER TABLE contribution_batches DISABLE TRIGGER contribution_batches_append_only;
UPDATE contribution_batches AS batch
SET period_ordinal = ranked.ordinal,
    period_total_minor = ranked.total
FROM (
    SELECT id,
           ROW_NUMBER() OVER in_period AS ordinal,
           LEAST(SUM(amount_minor) OVER in_period, 9223372036854775807)::BIGINT AS total
    FROM contribution_batches
    WINDOW in_period AS (PARTITION BY contributor_id, programme_id, period ORDER BY id
                         ROWS UNBOUNDED PRECEDING)
) AS ranked
WHERE ranked.id = batch.id;
ALTER TABLE contribution_batches ENABLE TRIGGER contribution_batches_append_only;

ALTER TABLE contribution_batches
    ALTER COLUMN period_ordinal SET NOT NULL,
    ALTER COLUMN period_total_minor SET NOT NULL,
    ADD CONSTRAINT contribution_batches_period_ordinal_positive CHECK (period_ordinal > 0),
    -- One batch per place; also the index that finds a period's latest batch.
    ADD CONSTRAINT contribution_batches_period_ordinal_unique
        UNIQUE (contributor_id, programme_id, period, period_ordinal);
ALTER TABLE contribution_batches
    ADD CONSTRAINT contribution_batches_period_total_within_limit
        CHECK (period_total_minor <= 10000000000000) NOT VALID;
COMMENT ON COLUMN contribution_batches.period_ordinal IS
    'Place among the contributor''s batches for this programme and period, 1 for the first (greater than 1: supplementary).';
COMMENT ON COLUMN contribution_batches.period_total_minor IS
    'Pledged by the contributor''s batches for this programme and period up to and including this one, minor units; at most ledger_core::limits::MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR.';

ALTER TABLE account_balances
    ADD CONSTRAINT account_balances_within_limit
        CHECK (balance_minor BETWEEN -100000000000000000 AND 100000000000000000) NOT VALID;
