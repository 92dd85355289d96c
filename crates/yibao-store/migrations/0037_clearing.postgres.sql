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
-- no person.
ALTER TABLE payment_orders ALTER COLUMN person_id DROP NOT NULL;
ALTER TABLE payment_orders ADD COLUMN clearing_id BIGINT UNIQUE REFERENCES clearings (id);
ALTER TABLE payment_orders ADD COLUMN institution_id BIGINT REFERENCES institutions (id);
ALTER TABLE payment_orders DROP CONSTRAINT payment_orders_check;
ALTER TABLE payment_orders ADD CONSTRAINT payment_orders_subject_check
    CHECK ((CASE WHEN claim_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN withdrawal_id IS NULL THEN 0 ELSE 1 END)
        + (CASE WHEN clearing_id IS NULL THEN 0 ELSE 1 END) = 1);
ALTER TABLE payment_orders ADD CONSTRAINT payment_orders_payer_check CHECK ((person_id IS NULL) <> (institution_id IS NULL));
ALTER TABLE payment_orders DROP CONSTRAINT payment_orders_payee_check;
ALTER TABLE payment_orders ADD CONSTRAINT payment_orders_payee_check
    CHECK (payee IN ('insured', 'employer', 'heir', 'institution'));
