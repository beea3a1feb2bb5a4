-- Payment instructions (issue 19, item 2): each batch carries the ISO 11649 structured creditor
-- reference (`RF..`) its contributor quotes when paying it, so a bank statement's credit can be
-- matched to the batch. Written with the batch, never changed (the table's triggers refuse
-- UPDATE); batches stored before this migration have none (their receipts are recorded by hand, as
-- before). SQLite dialect; migrations/postgres mirrors it and carries the column comment.

-- creditor_reference: ISO 11649 creditor reference of the batch, electronic form (RF, two check
-- digits, up to 21 letters and digits), unique; NULL for batches stored before migration 0015.
ALTER TABLE contribution_batches
    ADD COLUMN creditor_reference TEXT NULL
        CONSTRAINT contribution_batches_creditor_reference_form
            CHECK (creditor_reference IS NULL OR (creditor_reference GLOB 'RF[0-9][0-9]*'
                   AND length(creditor_reference) BETWEEN 5 AND 25
                   AND creditor_reference NOT GLOB 'RF??*[^0-9A-Z]*'));

CREATE UNIQUE INDEX contribution_batches_creditor_reference_unique
    ON contribution_batches (creditor_reference);
