-- Clearing with designated retail pharmacies, deductions given back with a reversal, the
-- release of the quality guarantee deposit after an institution's annual assessment (年度考核),
-- and the auditor's queue: hits taken by one auditor.

-- A pharmacy's purchases are cleared like a hospital's settlements: by the day they were
-- settled (China time, as `settled_at` is written), in the fund of the accounts that paid
-- (the employee scheme's, in the buyer's pooling region), each once (`cleared_in`), a
-- reversal of a cleared purchase carried into one later clearing (`reversal_cleared_in`).
ALTER TABLE pharmacy_purchases ADD COLUMN setl_date TEXT;
ALTER TABLE pharmacy_purchases ADD COLUMN fund TEXT;
ALTER TABLE pharmacy_purchases ADD COLUMN cleared_in BIGINT REFERENCES clearings (id);
ALTER TABLE pharmacy_purchases ADD COLUMN reversal_cleared_in BIGINT REFERENCES clearings (id);
UPDATE pharmacy_purchases SET setl_date = substr(settled_at, 1, 10),
    fund = (SELECT CAST(p.insured_region / 100 * 100 AS TEXT) || '-310' FROM persons p WHERE p.id = pharmacy_purchases.person_id);
CREATE INDEX pharmacy_purchases_period ON pharmacy_purchases (institution_id, setl_date);
CREATE INDEX pharmacy_purchases_cleared ON pharmacy_purchases (cleared_in);
CREATE INDEX pharmacy_purchases_reversal_cleared ON pharmacy_purchases (reversal_cleared_in);

-- An institution's annual assessment: its score, and the share of that year's deposit it
-- releases by the region's bands on the day it was recorded. Recorded once per year.
CREATE TABLE institution_assessments (
    id {{ID}},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    year BIGINT NOT NULL,
    score BIGINT NOT NULL CHECK (score >= 0 AND score <= 100),
    share TEXT NOT NULL,
    note TEXT NOT NULL,
    assessed_by TEXT NOT NULL,
    assessed_at TEXT NOT NULL,
    UNIQUE (institution_id, year)
);

-- A deduction given back in a later clearing, because the settlement it was taken from
-- was reversed and the reversal carried into that clearing.
ALTER TABLE supervision_hits ADD COLUMN refunded_in BIGINT REFERENCES clearings (id);
CREATE INDEX supervision_hits_refunded ON supervision_hits (refunded_in);

-- The later clearing that paid (or forfeited) an approved clearing's deposit.
ALTER TABLE clearings ADD COLUMN deposit_released_in BIGINT REFERENCES clearings (id);
CREATE INDEX clearings_released ON clearings (deposit_released_in);
-- Per fund: the deposits of earlier clearings a clearing released, and forfeited.
ALTER TABLE clearing_funds ADD COLUMN released BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clearing_funds ADD COLUMN forfeited BIGINT NOT NULL DEFAULT 0;

-- An auditor takes an open hit from the queue (领取): until they let it go, only they decide it.
ALTER TABLE supervision_hits ADD COLUMN taken_by TEXT;
ALTER TABLE supervision_hits ADD COLUMN taken_at TEXT;

-- A person's messages (消息): read when they opened their inbox, sent by SMS by the outbox
-- worker (`sms_at`), and the page they concern.
ALTER TABLE person_notices ADD COLUMN link TEXT;
ALTER TABLE person_notices ADD COLUMN read_at TEXT;
ALTER TABLE person_notices ADD COLUMN sms_at TEXT;
CREATE INDEX person_notices_unsent ON person_notices (sms_at, id);
