-- Off-site treatment filings (异地就医备案), referral certificates (转诊证明), social
-- security cards (社会保障卡) and the agency's no-card certificates (无卡证明). Rows change
-- state in place under a version number; every change is in the audit log with the row
-- before and after.

CREATE TABLE referrals (
    id {{ID}},
    number TEXT NOT NULL UNIQUE,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    diagnosis TEXT NOT NULL,
    destination BIGINT NOT NULL,
    destination_institution TEXT,
    valid_from TEXT NOT NULL,
    valid_to TEXT NOT NULL,
    hospital_seal_by TEXT NOT NULL,
    hospital_sealed_at TEXT NOT NULL,
    window_seal_by TEXT,
    window_sealed_at TEXT,
    issued_by TEXT NOT NULL
);
CREATE INDEX referrals_person ON referrals (person_id);

CREATE TABLE filings (
    id {{ID}},
    person_id BIGINT NOT NULL REFERENCES persons (id),
    kind TEXT NOT NULL,
    destination BIGINT,
    institution TEXT,
    start_date TEXT NOT NULL,
    end_date TEXT,
    status TEXT NOT NULL CHECK (status IN ('applied','approved','rejected','revoked')),
    retroactive BIGINT NOT NULL,
    documents TEXT NOT NULL,
    referral_id BIGINT REFERENCES referrals (id),
    channel TEXT NOT NULL CHECK (channel IN ('online','window')),
    delegate_id TEXT,
    replaces BIGINT REFERENCES filings (id),
    applied_at TEXT NOT NULL,
    applied_by TEXT NOT NULL,
    decided_at TEXT,
    decided_by TEXT,
    reason TEXT,
    note TEXT,
    revoked_from TEXT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX filings_person ON filings (person_id, id);
CREATE INDEX filings_status ON filings (status, id);

CREATE TABLE cards (
    id {{ID}},
    person_id BIGINT NOT NULL REFERENCES persons (id),
    status TEXT NOT NULL CHECK (status IN ('applied','collected','active','lost','damaged','replaced','cancelled')),
    bank TEXT NOT NULL,
    photo TEXT NOT NULL,
    photo_reference TEXT NOT NULL,
    applied_on TEXT NOT NULL,
    expected_on TEXT NOT NULL,
    collected_on TEXT,
    activated_on TEXT,
    lost_on TEXT,
    damaged_on TEXT,
    ended_on TEXT,
    replaces BIGINT REFERENCES cards (id),
    recorded_by TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX cards_person ON cards (person_id, id);

CREATE TABLE no_card_certificates (
    id {{ID}},
    number TEXT NOT NULL UNIQUE,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    institution_id BIGINT REFERENCES institutions (id),
    valid_from TEXT NOT NULL,
    valid_to TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    issued_by TEXT NOT NULL
);
CREATE INDEX no_card_certificates_person ON no_card_certificates (person_id);
