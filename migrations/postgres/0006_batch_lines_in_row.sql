-- A contribution batch's lines move into the batch's own row, as four parallel arrays in
-- submission order; `contribution_lines` becomes a view with the same columns as the table it
-- replaces, so queries that read lines are unchanged.
--
-- Why: lines are written once, with their batch, and only ever read as a whole batch. As rows, a
-- 10-line batch cost ten heap rows, ten index entries and ten foreign-key checks against the batch
-- written by the same statement: most of the writer's time per batch (docs/benchmarks.md, issue 4).
-- The constraints below keep what the table's constraints guaranteed.
-- PostgreSQL only: SQLite keeps its `contribution_lines` table, where a row costs microseconds.

ALTER TABLE contribution_batches
    ADD COLUMN line_references    TEXT[],
    ADD COLUMN line_members       BIGINT[],
    ADD COLUMN line_amounts_minor BIGINT[],
    ADD COLUMN line_kinds         TEXT[];

-- Moving the lines of existing batches is the one update this append-only table ever receives.
ALTER TABLE contribution_batches DISABLE TRIGGER contribution_batches_append_only;
UPDATE contribution_batches AS batch
SET (line_references, line_members, line_amounts_minor, line_kinds) = (
    SELECT COALESCE(array_agg(line.reference ORDER BY line.line_index), '{}'),
           COALESCE(array_agg(line.members ORDER BY line.line_index), '{}'),
           COALESCE(array_agg(line.amount_minor ORDER BY line.line_index), '{}'),
           COALESCE(array_agg(line.kind ORDER BY line.line_index), '{}')
    FROM contribution_lines AS line
    WHERE line.batch_id = batch.id
);
ALTER TABLE contribution_batches ENABLE TRIGGER contribution_batches_append_only;

ALTER TABLE contribution_batches
    ALTER COLUMN line_references SET NOT NULL,
    ALTER COLUMN line_members SET NOT NULL,
    ALTER COLUMN line_amounts_minor SET NOT NULL,
    ALTER COLUMN line_kinds SET NOT NULL,
    -- One entry per line in every array, none of them null (the table's columns were NOT NULL).
    ADD CONSTRAINT contribution_batches_lines_shape CHECK (
        cardinality(line_references) = line_count
        AND cardinality(line_members) = line_count
        AND cardinality(line_amounts_minor) = line_count
        AND cardinality(line_kinds) = line_count
        AND array_position(line_references, NULL) IS NULL
        AND array_position(line_members, NULL) IS NULL
        AND array_position(line_amounts_minor, NULL) IS NULL
        AND array_position(line_kinds, NULL) IS NULL
    ),
    ADD CONSTRAINT contribution_batches_line_kinds_check
        CHECK (line_kinds <@ ARRAY['solidarity', 'donation']::TEXT[]);
COMMENT ON COLUMN contribution_batches.line_references IS 'Each line''s section or branch reference, in submission order.';
COMMENT ON COLUMN contribution_batches.line_members IS 'Each line''s members, in submission order.';
COMMENT ON COLUMN contribution_batches.line_amounts_minor IS 'Each line''s amount in minor units, in submission order.';
COMMENT ON COLUMN contribution_batches.line_kinds IS 'Each line''s kind (solidarity or donation), in submission order.';

DROP TABLE contribution_lines;

CREATE VIEW contribution_lines AS
SELECT batch.id                             AS batch_id,
       (line.ordinality - 1)::INTEGER       AS line_index,
       line.reference,
       line.members,
       line.amount_minor,
       line.kind
FROM contribution_batches AS batch
CROSS JOIN LATERAL unnest(batch.line_references, batch.line_members, batch.line_amounts_minor, batch.line_kinds)
    WITH ORDINALITY AS line (reference, members, amount_minor, kind, ordinality);
COMMENT ON VIEW contribution_lines IS 'Lines of a batch (sections, branches, donations) as submitted, one row per line.';
