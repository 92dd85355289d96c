-- yibao foundation schema. One source for both backends; the migration runner replaces
-- {{ID}} (auto-increment primary key) and {{C}} (binary collation for prefix search).
-- Money is BIGINT fen; dates are TEXT 'YYYY-MM-DD'; instants are TEXT RFC 3339 UTC;
-- region codes are BIGINT so that a prefecture or province is a range.

CREATE TABLE employers (
    id {{ID}},
    credit_code TEXT NOT NULL UNIQUE,
    name TEXT {{C}} NOT NULL,
    region BIGINT NOT NULL,
    contact_name TEXT,
    contact_phone TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);
CREATE INDEX employers_region ON employers (region, id);

CREATE TABLE institutions (
    id {{ID}},
    code TEXT NOT NULL UNIQUE,
    name TEXT {{C}} NOT NULL,
    region BIGINT NOT NULL,
    tier TEXT NOT NULL CHECK (tier IN ('township','community','county','city','province')),
    grade TEXT NOT NULL CHECK (grade IN ('ungraded','1','2','3')),
    designated_from TEXT,
    designated_to TEXT,
    may_issue_referrals BIGINT NOT NULL DEFAULT 0,
    direct_settlement BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);
CREATE INDEX institutions_region ON institutions (region, id);

CREATE TABLE persons (
    id {{ID}},
    resident_id TEXT NOT NULL UNIQUE,
    name TEXT {{C}} NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('male','female')),
    birth_date TEXT NOT NULL,
    enrolment TEXT NOT NULL CHECK (enrolment IN ('unit_employee','flexible_employment','resident')),
    scheme TEXT NOT NULL CHECK (scheme IN ('310','390')),
    category TEXT NOT NULL CHECK (category IN ('in_service','retired','resident_adult','resident_elderly','minor','student')),
    insured_region BIGINT NOT NULL,
    pooling_region BIGINT NOT NULL,
    hukou_region BIGINT NOT NULL,
    employer_id BIGINT REFERENCES employers (id),
    bank_name TEXT,
    bank_card TEXT,
    phone TEXT,
    status TEXT NOT NULL CHECK (status IN ('active','suspended','deceased','transferred_out')),
    status_from TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);
CREATE INDEX persons_name ON persons (name, id);
CREATE INDEX persons_region ON persons (insured_region, id);
CREATE INDEX persons_employer ON persons (employer_id);

-- Every version of every registry record, never overwritten.
CREATE TABLE record_versions (
    entity TEXT NOT NULL,
    entity_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id, version)
);

CREATE TABLE accounts (
    id {{ID}},
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('intake_clerk','reviewer','second_reviewer','auditor','finance','policy_admin','sys_admin','insured')),
    password_hash TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    person_id BIGINT REFERENCES persons (id),
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE api_keys (
    id {{ID}},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    key_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before_data TEXT NOT NULL,
    after_data TEXT NOT NULL,
    request_id TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);

-- The head of the audit chain: one row, locked by every audited write.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    last_seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, last_seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
