-- An account with a role that moves money or approves (finance, second reviewer, system
-- administrator) is created waiting for a second administrator: until another one approves
-- it, it cannot log in. The column names the administrator who created it.
ALTER TABLE accounts ADD COLUMN awaiting_approval_by TEXT;
