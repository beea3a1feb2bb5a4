-- The fund in public (issue 20): each organisation's choice to be named on the public site. The
-- latest choice of an organisation is in force; earlier ones stay as its history (append-only).
-- With no choice, a contributor is not published and a beneficiary is (the directory of member
-- mutuals is public by the network's rules). PostgreSQL dialect; migrations/sqlite mirrors it.
CREATE TABLE publication_choices (
    id              UUID        NOT NULL CONSTRAINT publication_choices_pk PRIMARY KEY,
    organisation_id UUID        NOT NULL CONSTRAINT publication_choices_organisation_fk REFERENCES organisations (id),
    published       BOOLEAN     NOT NULL,
    chosen_by       TEXT        NOT NULL,
    chosen_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX publication_choices_organisation ON publication_choices (organisation_id, chosen_at);
COMMENT ON TABLE publication_choices IS 'Whether an organisation agreed to be named on the public site; the latest row per organisation is in force; append-only.';
COMMENT ON COLUMN publication_choices.id IS 'The choice''s id (time-ordered: the latest choice has the greatest id).';
COMMENT ON COLUMN publication_choices.organisation_id IS 'The organisation that chose (or for which the network chose).';
COMMENT ON COLUMN publication_choices.published IS 'true: its name, country, members and figures are public; false: it is counted only in totals, unnamed.';
COMMENT ON COLUMN publication_choices.chosen_by IS 'The subject of who recorded the choice (the organisation''s own user or a network admin).';
COMMENT ON COLUMN publication_choices.chosen_at IS 'When the choice was recorded.';
CREATE TRIGGER publication_choices_append_only BEFORE UPDATE OR DELETE ON publication_choices
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER publication_choices_no_truncate BEFORE TRUNCATE ON publication_choices
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();
