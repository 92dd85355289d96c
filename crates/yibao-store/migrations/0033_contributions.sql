-- Contributions (缴费): each region's rules per insurance year, as imported (TOML, versioned);
-- employers' monthly declarations and the bills computed from them, paid as the bank's or
-- the tax authority's receipt says; and the months (or, for residents, the year) each person
-- has paid, with the day it was paid — what cover follows.
CREATE TABLE contribution_rules (
    id {{ID}},
    region BIGINT NOT NULL,
    year BIGINT NOT NULL,
    version BIGINT NOT NULL,
    document TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    UNIQUE (region, year, version)
);

CREATE TABLE contribution_bills (
    id {{ID}},
    employer_id BIGINT NOT NULL REFERENCES employers (id),
    month TEXT NOT NULL,
    rules_version BIGINT NOT NULL,
    employer_total BIGINT NOT NULL,
    employee_total BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('declared', 'paid')),
    declared_by TEXT NOT NULL,
    declared_at TEXT NOT NULL,
    paid_on TEXT,
    payment_reference TEXT,
    recorded_by TEXT,
    recorded_at TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    UNIQUE (employer_id, month),
    CHECK ((state = 'paid') = (paid_on IS NOT NULL))
);

CREATE TABLE contribution_bill_lines (
    id {{ID}},
    bill_id BIGINT NOT NULL REFERENCES contribution_bills (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    wage BIGINT NOT NULL,
    base BIGINT NOT NULL,
    employer_part BIGINT NOT NULL,
    employee_part BIGINT NOT NULL,
    note TEXT,
    UNIQUE (bill_id, person_id)
);
CREATE INDEX contribution_bill_lines_person ON contribution_bill_lines (person_id);

CREATE TABLE contribution_months (
    id {{ID}},
    person_id BIGINT NOT NULL REFERENCES persons (id),
    month TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('employee', 'flexible')),
    base BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    paid_on TEXT NOT NULL,
    source TEXT NOT NULL,
    UNIQUE (person_id, month)
);

CREATE TABLE resident_contributions (
    id {{ID}},
    person_id BIGINT NOT NULL REFERENCES persons (id),
    year BIGINT NOT NULL,
    category TEXT NOT NULL,
    personal BIGINT NOT NULL,
    subsidy BIGINT NOT NULL,
    paid_on TEXT NOT NULL,
    source TEXT NOT NULL,
    UNIQUE (person_id, year)
);
