-- Pre-evaluations (预评估): a filing whose person the agency asks to come in first. While it
-- is required and not recorded, the filing cannot be approved; once recorded it carries what
-- the agency saw (`record`, a JSON PreEvaluation: condition, diagnosis, planned treatment,
-- expected days and cost, photos required, re-check), which a claim or settlement of the
-- stay is compared with.
CREATE TABLE pre_evaluations (
    id {{ID}},
    filing_id BIGINT NOT NULL UNIQUE REFERENCES filings (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    region BIGINT NOT NULL,
    note TEXT NOT NULL,
    required_by TEXT NOT NULL,
    required_at TEXT NOT NULL,
    record TEXT,
    recorded_by TEXT,
    recorded_at TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    CHECK ((record IS NULL) = (recorded_at IS NULL))
);
CREATE INDEX pre_evaluations_person ON pre_evaluations (person_id);

-- Audit tasks (稽核任务): an on-site audit of a stay (现场稽核), a re-check visit after a
-- pre-evaluated stay (复查), an approved claim drawn for post-payment audit (事后抽查). Kept
-- under the person's insured region; who was sent, where, by when; what was found and the
-- conclusion, which lets the claim or settlement go on or stops it.
CREATE TABLE audit_tasks (
    id {{ID}},
    kind TEXT NOT NULL CHECK (kind IN ('on_site', 'recheck', 'sample')),
    region BIGINT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    claim_id BIGINT REFERENCES claims (id),
    visit_id BIGINT REFERENCES visits (id),
    filing_id BIGINT REFERENCES filings (id),
    place TEXT NOT NULL,
    assignee TEXT NOT NULL,
    due_on TEXT NOT NULL,
    instructions TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'done')),
    visited_on TEXT,
    findings TEXT,
    conclusion TEXT CHECK (conclusion IN ('confirmed', 'false_admission', 'bed_without_treatment', 'other')),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    concluded_by TEXT,
    concluded_at TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    CHECK ((state = 'done') = (conclusion IS NOT NULL))
);
CREATE INDEX audit_tasks_open ON audit_tasks (region, state);
CREATE INDEX audit_tasks_claim ON audit_tasks (claim_id);
CREATE INDEX audit_tasks_visit ON audit_tasks (visit_id);

-- An audit's photos: documents of the person (content-addressed like every upload) with the
-- time they were taken; only auditors of the person's region read them.
CREATE TABLE audit_photos (
    id {{ID}},
    task_id BIGINT NOT NULL REFERENCES audit_tasks (id),
    document_id BIGINT NOT NULL UNIQUE REFERENCES documents (id),
    taken_at TEXT NOT NULL,
    caption TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE INDEX audit_photos_task ON audit_photos (task_id);
