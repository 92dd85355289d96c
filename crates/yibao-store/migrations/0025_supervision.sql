-- Supervision rule bases (智能监管规则库): one region's rules, each version as imported (TOML);
-- the newest version applies.
CREATE TABLE supervision_rule_bases (
    id {{ID}},
    region BIGINT NOT NULL,
    version BIGINT NOT NULL,
    document TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    UNIQUE (region, version)
);

-- What a rule base found on a claim: open until a reviewer or an auditor clears it (a reason
-- given) or confirms it. Found again when the claim is adjudicated again: the open ones are
-- replaced, the decided ones kept.
CREATE TABLE supervision_hits (
    id {{ID}},
    claim_id BIGINT NOT NULL REFERENCES claims (id),
    region BIGINT NOT NULL,
    rule_code TEXT NOT NULL,
    rule_version BIGINT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('hint', 'suspect', 'violation')),
    -- What it points at: {"of": "lines"|"visits", "ids": [...]}.
    evidence TEXT NOT NULL,
    zh TEXT NOT NULL,
    en TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'cleared', 'confirmed')),
    found_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    reason TEXT
);
CREATE INDEX supervision_hits_claim ON supervision_hits (claim_id);
CREATE INDEX supervision_hits_open ON supervision_hits (region, state);
