-- An administrator's change of a staff account's role or regions, waiting for a second
-- administrator (JSON: role, scope, by); the account keeps its old role until then.
ALTER TABLE accounts ADD COLUMN pending_change TEXT;
