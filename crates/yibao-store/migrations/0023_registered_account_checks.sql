-- A bank card registered on a person or an employer unit by staff waits for a second person
-- (another member of staff, or the holder) to confirm it. Until then the staff member's
-- username is kept, with the account confirmed before (to which finance sees the change
-- compared); a payment order made meanwhile waits too.
ALTER TABLE persons ADD COLUMN bank_unconfirmed_by TEXT;
ALTER TABLE persons ADD COLUMN confirmed_bank_name TEXT;
ALTER TABLE persons ADD COLUMN confirmed_bank_card TEXT;
ALTER TABLE employers ADD COLUMN bank_unconfirmed_by TEXT;
ALTER TABLE employers ADD COLUMN confirmed_bank_name TEXT;
ALTER TABLE employers ADD COLUMN confirmed_bank_card TEXT;
