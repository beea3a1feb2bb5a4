-- Programmes are history too: a programme's rules (rate, period, allocation, conditions, minimum
-- transfer, administration cap) are what every batch, run and report of it was judged by, so they
-- are never rewritten. 0002 refused DELETE only; UPDATE is refused now as on every other history
-- table. A change of rules comes as a new programme version, never as an edit.
-- No column is added or changed.

DROP TRIGGER programmes_no_delete ON programmes;
CREATE TRIGGER programmes_append_only BEFORE UPDATE OR DELETE ON programmes
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
