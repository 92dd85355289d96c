-- Visits (就诊) admitted through the national platform interface: one row per admission,
-- its state changed in place under a version number, every change in the audit log.
CREATE TABLE visits (
    id {{ID}},
    mdtrt_id TEXT UNIQUE,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    insutype TEXT NOT NULL,
    med_type TEXT NOT NULL,
    begntime TEXT NOT NULL,
    ipt_otp_no TEXT NOT NULL,
    diagnoses TEXT NOT NULL,
    cover_code TEXT NOT NULL,
    filing_id BIGINT REFERENCES filings (id),
    -- 'discharged' and 'settled' come with 2402 and 2304.
    status TEXT NOT NULL CHECK (status IN ('admitted', 'discharged', 'settled', 'cancelled')),
    version BIGINT NOT NULL DEFAULT 1,
    admitted_by TEXT NOT NULL,
    admitted_at TEXT NOT NULL
);
CREATE INDEX visits_person ON visits (person_id);
-- One open visit per hospital number; an undone admission frees it.
CREATE UNIQUE INDEX visits_institution_ipt ON visits (institution_id, ipt_otp_no) WHERE status <> 'cancelled';
