-- Clearing with designated institutions (清算): a period's statement built from yibao's own
-- settlements, the confirmed findings it deducts, the quality guarantee deposit it withholds,
-- the institution's objections and the agency's review and approval (four eyes). Each
-- settlement is cleared once (`cleared_in`); a reversal of a cleared settlement is carried
-- into one later clearing (`reversal_cleared_in`); a finding is deducted once (`deducted_in`).

-- The account a designated institution is paid to (对公账户), given by the institution.
ALTER TABLE institutions ADD COLUMN bank_account_name TEXT;
ALTER TABLE institutions ADD COLUMN bank_name TEXT;
ALTER TABLE institutions ADD COLUMN bank_account TEXT;

CREATE TABLE clearings (
    id {{ID}},
    -- clr_appy_evt_id: the clearing application's number, which 3204 names.
    number TEXT UNIQUE,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    region BIGINT NOT NULL,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('applied', 'reviewed', 'approved', 'cancelled')),
    -- The institution's own figures (3203), JSON; NULL when it applied in the portal.
    declared TEXT,
    -- The statement (yibao_core::clearing::Statement), JSON, and its totals.
    statement TEXT NOT NULL,
    gross BIGINT NOT NULL,
    deducted BIGINT NOT NULL,
    deposit BIGINT NOT NULL,
    net BIGINT NOT NULL,
    applied_by TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    reviewed_by TEXT,
    reviewed_at TEXT,
    approved_by TEXT,
    approved_at TEXT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX clearings_period ON clearings (institution_id, period_start) WHERE state <> 'cancelled';
CREATE INDEX clearings_state ON clearings (region, state, id);

ALTER TABLE settlements ADD COLUMN cleared_in BIGINT REFERENCES clearings (id);
ALTER TABLE settlements ADD COLUMN reversal_cleared_in BIGINT REFERENCES clearings (id);
CREATE INDEX settlements_cleared ON settlements (cleared_in);
CREATE INDEX settlements_reversal_cleared ON settlements (reversal_cleared_in);
ALTER TABLE supervision_hits ADD COLUMN deducted_in BIGINT REFERENCES clearings (id);
CREATE INDEX supervision_hits_deducted ON supervision_hits (deducted_in);

-- An institution's objection to a deduction (异议), decided by an auditor: upheld, the
-- finding is withdrawn from the clearing and costs nothing; dismissed, it stands.
CREATE TABLE clearing_objections (
    id {{ID}},
    clearing_id BIGINT NOT NULL REFERENCES clearings (id),
    hit_id BIGINT NOT NULL REFERENCES supervision_hits (id),
    grounds TEXT NOT NULL,
    raised_by TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'upheld', 'dismissed')),
    decided_by TEXT,
    decided_at TEXT,
    reason TEXT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX clearing_objections_once ON clearing_objections (clearing_id, hit_id);

-- A payment order pays a claim, a withdrawal or a clearing; an institution is a payee with
-- no person. SQLite cannot drop a NOT NULL or alter a CHECK in place: the table is rebuilt
-- with its ids kept (the batch lines that name them are checked at the commit).
PRAGMA defer_foreign_keys = ON;
CREATE TABLE payment_orders_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT UNIQUE,
    claim_id BIGINT UNIQUE REFERENCES claims (id),
    withdrawal_id BIGINT UNIQUE REFERENCES account_withdrawals (id),
    clearing_id BIGINT UNIQUE REFERENCES clearings (id),
    person_id BIGINT REFERENCES persons (id),
    institution_id BIGINT REFERENCES institutions (id),
    region BIGINT NOT NULL,
    payee TEXT NOT NULL CHECK (payee IN ('insured', 'employer', 'heir', 'institution')),
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
    CHECK ((claim_id IS NOT NULL) + (withdrawal_id IS NOT NULL) + (clearing_id IS NOT NULL) = 1),
    CHECK ((person_id IS NULL) <> (institution_id IS NULL))
);
INSERT INTO payment_orders_new (id, number, claim_id, withdrawal_id, person_id, region, payee, account_name, bank_name,
    bank_card, amount, state, attempt, approved_on, due_on, due_provisional, paid_on, failure_code, failure_note,
    created_at, version, approved_bank_name, approved_bank_card, account_unconfirmed_by)
SELECT id, number, claim_id, withdrawal_id, person_id, region, payee, account_name, bank_name,
    bank_card, amount, state, attempt, approved_on, due_on, due_provisional, paid_on, failure_code, failure_note,
    created_at, version, approved_bank_name, approved_bank_card, account_unconfirmed_by FROM payment_orders;
DROP TABLE payment_orders;
ALTER TABLE payment_orders_new RENAME TO payment_orders;
CREATE INDEX payment_orders_state ON payment_orders (region, state, id);
