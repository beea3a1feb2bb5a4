-- A run and the rules of its period agree in the database itself (a version and a run planned at
-- the same moment could both pass the application's reads); see migrations/postgres for the
-- comments. SQLite has one writer at a time (BEGIN IMMEDIATE), so the triggers need no lock. The
-- refusal's text starts with the rule's name (ledger_store::StoreError maps it). No column is
-- added or changed. SQLite dialect; migrations/postgres mirrors it.

-- A version may not take effect in or before a period that has a recorded run (as_of is the end
-- of the run's period; dates are YYYY-MM-DD text, which compares as dates).
CREATE TRIGGER programme_versions_after_recorded_runs BEFORE INSERT ON programme_versions
WHEN EXISTS (SELECT 1 FROM transfer_runs
             WHERE programme_id = NEW.programme_id AND as_of >= NEW.effective_from)
BEGIN SELECT RAISE(ABORT, 'programme_versions_after_recorded_runs: the programme has a recorded run for this or a later period'); END;

-- A run may not be recorded with a version that a later one superseded for its period.
CREATE TRIGGER transfer_runs_use_the_rules_in_force BEFORE INSERT ON transfer_runs
WHEN EXISTS (SELECT 1 FROM programme_versions
             WHERE programme_id = NEW.programme_id AND version_number > NEW.programme_version
               AND effective_from <= NEW.as_of)
BEGIN SELECT RAISE(ABORT, 'transfer_runs_use_the_rules_in_force: a later programme version governs the run''s period'); END;
