-- The fund in public (issue 20): each organisation's choice to be named on the public site. The
-- latest choice of an organisation is in force; earlier ones stay as its history (append-only).
-- With no choice, a contributor is not published and a beneficiary is (the directory of member
-- mutuals is public by the network's rules). SQLite dialect; migrations/postgres mirrors it and
-- carries the column comments.

CREATE TABLE publication_choices (
    id              BLOB    NOT NULL CONSTRAINT publication_choices_pk PRIMARY KEY, -- time-ordered id: the latest choice has the greatest
    organisation_id BLOB    NOT NULL CONSTRAINT publication_choices_organisation_fk REFERENCES organisations (id), -- who chose (or for whom the network chose)
    published       INTEGER NOT NULL CONSTRAINT publication_choices_published_check CHECK (published IN (0, 1)), -- 1: named on the public site; 0: counted only in totals
    chosen_by       TEXT    NOT NULL, -- subject of who recorded the choice
    chosen_at       TEXT    NOT NULL  -- when it was recorded
) STRICT;
CREATE INDEX publication_choices_organisation ON publication_choices (organisation_id, chosen_at);

CREATE TRIGGER publication_choices_no_update BEFORE UPDATE ON publication_choices
BEGIN SELECT RAISE(ABORT, 'append_only: publication_choices cannot be updated'); END;
CREATE TRIGGER publication_choices_no_delete BEFORE DELETE ON publication_choices
BEGIN SELECT RAISE(ABORT, 'append_only: publication_choices cannot be deleted'); END;
