-- A run and the rules of its period agree in the database itself. The application reads before it
-- writes (a new programme version is refused for a period that has a recorded run; a run records
-- the version in force for its period), but a version and a run planned at the same moment could
-- both pass those reads and both commit, leaving a run whose period a newer version governs. These
-- triggers decide again inside the write's transaction:
--   * a programme_versions row is refused while the programme has a recorded run whose period
--     ends (transfer_runs.as_of) on or after the version's effective_from
--     (programme_versions_after_recorded_runs; the API's 409 period_already_planned);
--   * a transfer_runs row is refused while the programme has a version numbered above the run's
--     programme_version that takes effect (effective_from) on or before the run's as_of: the run
--     used rules that no longer govern its period (transfer_runs_use_the_rules_in_force; the API's
--     409 programme_rules_changed).
-- Versions start with a period and runs cover whole periods of the same programme, so "ends on or
-- after the start" is "is the effective period or a later one".
-- Both triggers first lock the programme's row FOR NO KEY UPDATE, so versions and runs of one
-- programme are checked one at a time across every service instance sharing the database (each
-- check is a new statement, which under READ COMMITTED sees what the previous holder committed).
-- That lock does not conflict with the FOR KEY SHARE taken by foreign-key checks (contribution
-- batches keep flowing) and fires no UPDATE trigger (programmes_append_only is untouched). The
-- writer inserts both rows after the chain-head row is locked, so the two locks are always taken
-- in the same order. The refusal is a check_violation naming the rule as its constraint
-- (ledger_store::StoreError maps it). No column is added or changed. PostgreSQL dialect;
-- migrations/sqlite mirrors it.

CREATE FUNCTION programme_versions_after_recorded_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM programmes WHERE id = NEW.programme_id FOR NO KEY UPDATE;
    IF EXISTS (SELECT 1 FROM transfer_runs
               WHERE programme_id = NEW.programme_id AND as_of >= NEW.effective_from) THEN
        RAISE EXCEPTION 'programme_versions_after_recorded_runs: the programme has a recorded run for % or a later period', NEW.effective_period
            USING ERRCODE = 'check_violation', CONSTRAINT = 'programme_versions_after_recorded_runs';
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION programme_versions_after_recorded_runs() IS 'Refuses a programme version taking effect in or before a period that has a recorded run, under the programme''s row lock (migration 0025).';
CREATE TRIGGER programme_versions_after_recorded_runs BEFORE INSERT ON programme_versions
    FOR EACH ROW EXECUTE FUNCTION programme_versions_after_recorded_runs();

CREATE FUNCTION transfer_runs_use_the_rules_in_force() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM programmes WHERE id = NEW.programme_id FOR NO KEY UPDATE;
    IF EXISTS (SELECT 1 FROM programme_versions
               WHERE programme_id = NEW.programme_id AND version_number > NEW.programme_version
                 AND effective_from <= NEW.as_of) THEN
        RAISE EXCEPTION 'transfer_runs_use_the_rules_in_force: a version after % governs %', NEW.programme_version, NEW.period
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transfer_runs_use_the_rules_in_force';
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION transfer_runs_use_the_rules_in_force() IS 'Refuses a run recorded with a programme version that a later version superseded for its period, under the programme''s row lock (migration 0025).';
CREATE TRIGGER transfer_runs_use_the_rules_in_force BEFORE INSERT ON transfer_runs
    FOR EACH ROW EXECUTE FUNCTION transfer_runs_use_the_rules_in_force();
