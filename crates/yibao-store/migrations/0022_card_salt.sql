-- The salt bank card digests in audit entries are keyed with, sealed under the audit key
-- (empty: none yet, or no key). A plain SHA-256 of a card number is found by trying the
-- numbers its masked digits and bank prefix leave; a keyed one is not.
ALTER TABLE audit_head ADD COLUMN card_salt TEXT NOT NULL DEFAULT '';
