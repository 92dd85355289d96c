-- Sporadic claims (零星报销). A region's rules for them (checklists, deadlines, the
-- second-review amount) are versioned JSON documents like policies. A claim changes state
-- in place under a version number; each step is also a row in claim_events and an entry in
-- the audit log. Nothing is deleted: documents and invoices stay with a withdrawn claim.
CREATE TABLE claim_rules (
    id {{ID}},
    region BIGINT NOT NULL,
    version BIGINT NOT NULL,
    valid_from TEXT NOT NULL,
    body TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    UNIQUE (region, version)
);

-- A person's authorisation of a delegate (受托人) to claim for them, until revoked.
CREATE TABLE delegations (
    id {{ID}},
    person_id BIGINT NOT NULL REFERENCES persons (id),
    delegate_resident_id TEXT NOT NULL,
    delegate_name TEXT NOT NULL,
    -- Set when the delegate is in the registry: they may then act in the portal.
    delegate_person_id BIGINT REFERENCES persons (id),
    granted_at TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT
);
CREATE INDEX delegations_person ON delegations (person_id);
CREATE INDEX delegations_delegate ON delegations (delegate_person_id);

CREATE TABLE claims (
    id {{ID}},
    number TEXT UNIQUE,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    case_code TEXT NOT NULL,
    submitter TEXT NOT NULL CHECK (submitter IN ('insured', 'delegate', 'employer')),
    delegation_id BIGINT REFERENCES delegations (id),
    employer_id BIGINT REFERENCES employers (id),
    channel TEXT NOT NULL CHECK (channel IN ('online', 'window')),
    med_type TEXT NOT NULL,
    institution_code TEXT NOT NULL,
    institution_name TEXT NOT NULL,
    treatment_region BIGINT NOT NULL,
    hosp_lv TEXT NOT NULL,
    visit_no TEXT,
    care_start TEXT NOT NULL,
    care_end TEXT NOT NULL,
    diagnoses TEXT NOT NULL,
    due_on TEXT NOT NULL,
    late_excuse TEXT,
    state TEXT NOT NULL CHECK (state IN ('submitted', 'returned', 'adjudicated', 'in_review', 'second_review',
                                         'approved', 'reduced', 'rejected', 'withdrawn')),
    -- What the intake clerk asked for (补正), as the checklist items' JSON.
    missing TEXT NOT NULL DEFAULT '[]',
    note TEXT,
    -- The engine's outcome and the statement (结算单) built from it (JSON) once
    -- adjudicated, and its main figures.
    outcome TEXT,
    statement TEXT,
    year BIGINT,
    medfee_sumamt BIGINT,
    fund_pay_sumamt BIGINT,
    reviewer TEXT,
    verdict TEXT,
    second_reviewer TEXT,
    submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    decided_at TEXT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX claims_person ON claims (person_id, id);
CREATE INDEX claims_state ON claims (state, id);

-- The receipts a claim is made with. An invoice of an institution is claimed at most once
-- while its claim is alive (not withdrawn or rejected).
CREATE TABLE claim_invoices (
    id {{ID}},
    claim_id BIGINT NOT NULL REFERENCES claims (id),
    institution_code TEXT NOT NULL,
    invoice_no TEXT NOT NULL,
    invoice_date TEXT NOT NULL,
    amount BIGINT NOT NULL,
    live BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX claim_invoices_live ON claim_invoices (institution_code, invoice_no) WHERE live = 1;
CREATE INDEX claim_invoices_claim ON claim_invoices (claim_id);

CREATE TABLE claim_lines (
    id {{ID}},
    claim_id BIGINT NOT NULL REFERENCES claims (id),
    seq BIGINT NOT NULL,
    med_list_codg TEXT NOT NULL,
    item_name TEXT NOT NULL,
    cnt TEXT NOT NULL,
    pric TEXT NOT NULL,
    amount BIGINT NOT NULL,
    fee_ocur_time TEXT NOT NULL,
    -- A reviewer's exclusion: coded reason and comment.
    excluded_reason TEXT,
    excluded_note TEXT,
    excluded_by TEXT,
    UNIQUE (claim_id, seq)
);

CREATE TABLE claim_documents (
    id {{ID}},
    claim_id BIGINT NOT NULL REFERENCES claims (id),
    document_id BIGINT NOT NULL REFERENCES documents (id),
    kind TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE INDEX claim_documents_claim ON claim_documents (claim_id);

CREATE TABLE claim_events (
    id {{ID}},
    claim_id BIGINT NOT NULL REFERENCES claims (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    note TEXT
);
CREATE INDEX claim_events_claim ON claim_events (claim_id, id);
