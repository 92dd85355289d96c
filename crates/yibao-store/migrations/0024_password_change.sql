-- An account whose password someone else set (the administrator who created it) must be
-- given a password of the holder's own at its next log-in; until then it can do nothing else.
ALTER TABLE accounts ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
-- The activation code a second person (the approving administrator, or the clerk who checked
-- a person's identity) hands the holder, as an Argon2 hash: until the holder sets their own
-- password, log-in needs the creator's password followed by this code, so neither the creator
-- nor the approver can use the account alone.
ALTER TABLE accounts ADD COLUMN activation_hash TEXT;
