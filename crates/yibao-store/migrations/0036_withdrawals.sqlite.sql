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

-- A payment order pays a claim or a withdrawal; an heir is a payee. SQLite cannot drop a
-- NOT NULL or alter a CHECK in place: the table is rebuilt with its ids kept (the batch
-- lines that name them are checked at the commit).
PRAGMA defer_foreign_keys = ON;
CREATE TABLE payment_orders_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT UNIQUE,
    claim_id BIGINT UNIQUE REFERENCES claims (id),
    withdrawal_id BIGINT UNIQUE REFERENCES account_withdrawals (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    region BIGINT NOT NULL,
    payee TEXT NOT NULL CHECK (payee IN ('insured', 'employer', 'heir')),
    account_name TEXT NOT NULL,
    bank_name TEXT,
    bank_card TEXT,
    amount BIGINT NOT NULL CHECK (amount > 0),
    state TEXT NOT NULL CHECK (state IN ('awaiting_account', 'ready', 'batched', 'exported', 'paid', 'failed')),
    attempt BIGINT NOT NULL DEFAULT 1,
    approved_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    due_provisional BIGINT NOT NULL DEFAULT 0,
    paid_on TEXT,
    failure_code TEXT,
    failure_note TEXT,
    created_at TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    approved_bank_name TEXT,
    approved_bank_card TEXT,
    account_unconfirmed_by TEXT,
    CHECK ((claim_id IS NULL) <> (withdrawal_id IS NULL))
);
INSERT INTO payment_orders_new (id, number, claim_id, person_id, region, payee, account_name, bank_name, bank_card,
    amount, state, attempt, approved_on, due_on, due_provisional, paid_on, failure_code, failure_note, created_at,
    version, approved_bank_name, approved_bank_card, account_unconfirmed_by)
SELECT id, number, claim_id, person_id, region, payee, account_name, bank_name, bank_card,
    amount, state, attempt, approved_on, due_on, due_provisional, paid_on, failure_code, failure_note, created_at,
    version, approved_bank_name, approved_bank_card, account_unconfirmed_by FROM payment_orders;
DROP TABLE payment_orders;
ALTER TABLE payment_orders_new RENAME TO payment_orders;
CREATE INDEX payment_orders_state ON payment_orders (region, state, id);
