-- The id of the key the audit chain is keyed with (HMAC-SHA-256; the key itself is kept
-- outside the database). Empty: an unkeyed SHA-256 chain.
ALTER TABLE audit_head ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
