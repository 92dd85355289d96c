-- An account whose password someone else set (the administrator who created it, or the
-- one-time password handed over at its approval) must be given a password of the holder's
-- own at its next log-in; until then it can do nothing else.
ALTER TABLE accounts ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
