-- A payee account given by anyone but the claimant waits for a second person (another
-- member of staff, or the claimant) to confirm it before its order may be batched; the
-- account the order was approved with is kept, so that finance sees every order paid to
-- another account than at approval. The claimant is told of a change in a notice.
ALTER TABLE payment_orders ADD COLUMN approved_bank_name TEXT;
ALTER TABLE payment_orders ADD COLUMN approved_bank_card TEXT;
-- The username of the member of staff who gave the account, until it is confirmed.
ALTER TABLE payment_orders ADD COLUMN account_unconfirmed_by TEXT;
UPDATE payment_orders SET approved_bank_name = bank_name, approved_bank_card = bank_card;

-- What yibao tells an insured person (shown on their home page, newest first).
CREATE TABLE person_notices (
    id {{ID}},
    person_id BIGINT NOT NULL REFERENCES persons (id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    zh TEXT NOT NULL,
    en TEXT NOT NULL
);
CREATE INDEX person_notices_person ON person_notices (person_id, id);
