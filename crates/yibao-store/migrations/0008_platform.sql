-- The national platform interface: each institution's signing secret (HMAC needs the
-- secret itself; production keeps this table's secrets in a key store), the sign-ins of
-- 9001, and every answered message by (institution, msgid), so that a retry gets the same
-- answer and nothing is done twice.
CREATE TABLE platform_credentials (
    id {{ID}},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX platform_credentials_institution ON platform_credentials (institution_id);

CREATE TABLE platform_sign_ins (
    id {{ID}},
    sign_no TEXT NOT NULL UNIQUE,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    opter TEXT NOT NULL,
    signed_in_at TEXT NOT NULL
);

CREATE TABLE platform_messages (
    id {{ID}},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    msgid TEXT NOT NULL,
    infno TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    response TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (institution_id, msgid)
);
