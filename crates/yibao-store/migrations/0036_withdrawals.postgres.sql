-- A withdrawal from an individual account (个人账户支取): requested by a clerk at the window
-- with the papers its reason needs, decided by another member of staff (four eyes on
-- money). Approved, the account is debited and a payment order pays it through the bank
-- batches, to the holder or, after death, to the heir. One open request per person.
CREATE TABLE account_withdrawals (
    id {{ID}},
    number TEXT UNIQUE,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    reason TEXT NOT NULL CHECK (reason IN ('window', 'leaving_region', 'death')),
    -- Asked for: the amount at the window; NULL for the whole balance.
    requested BIGINT CHECK (requested > 0),
    -- Debited at approval.
    amount BIGINT CHECK (amount > 0),
    papers TEXT NOT NULL,
    heir_name TEXT,
    heir_resident_id TEXT,
    heir_bank_name TEXT,
    heir_bank_card TEXT,
    state TEXT NOT NULL CHECK (state IN ('requested', 'approved', 'rejected')),
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    note TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    CHECK ((reason = 'death') = (heir_name IS NOT NULL)),
    CHECK ((state = 'approved') = (amount IS NOT NULL))
);
CREATE UNIQUE INDEX account_withdrawals_open ON account_withdrawals (person_id) WHERE state = 'requested';
CREATE INDEX account_withdrawals_state ON account_withdrawals (state, id);

-- A payment order pays a claim or a withdrawal; an heir is a payee.
ALTER TABLE payment_orders ALTER COLUMN claim_id DROP NOT NULL;
ALTER TABLE payment_orders ADD COLUMN withdrawal_id BIGINT UNIQUE REFERENCES account_withdrawals (id);
ALTER TABLE payment_orders ADD CHECK ((claim_id IS NULL) <> (withdrawal_id IS NULL));
ALTER TABLE payment_orders DROP CONSTRAINT payment_orders_payee_check;
ALTER TABLE payment_orders ADD CONSTRAINT payment_orders_payee_check CHECK (payee IN ('insured', 'employer', 'heir'));
