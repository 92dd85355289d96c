-- A person's medical history file (参保人病史档案): verified diagnoses, surgeries, chronic and
-- special illnesses and allergies, each with its source (a settlement's setl_id, a claim's
-- number, an audit, a hospital document), who verified it and when. Filled from every settled
-- visit and approved claim, and by auditors by hand. The same fact from the same source is
-- kept once.
CREATE TABLE history_entries (
    id {{ID}},
    person_id BIGINT NOT NULL REFERENCES persons (id),
    kind TEXT NOT NULL CHECK (kind IN ('diagnosis', 'surgery', 'chronic', 'allergy')),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    noted_on TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('settlement', 'claim', 'audit', 'document')),
    source_ref TEXT NOT NULL,
    verified_by TEXT NOT NULL,
    verified_at TEXT NOT NULL,
    UNIQUE (person_id, kind, code, name, source, source_ref)
);
CREATE INDEX history_entries_person ON history_entries (person_id, noted_on);
