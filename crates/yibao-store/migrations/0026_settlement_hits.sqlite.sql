-- Hits on direct settlements as well as on claims (2304 checks every settlement), and what a
-- confirmed hit costs: deducted from the institution at clearing (拒付) or recovered from
-- whoever was paid (追回), in fen. SQLite cannot drop a NOT NULL in place: the table is
-- rebuilt with its ids kept.
CREATE TABLE supervision_hits_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id BIGINT REFERENCES claims (id),
    settlement_id BIGINT REFERENCES settlements (id),
    region BIGINT NOT NULL,
    rule_code TEXT NOT NULL,
    rule_version BIGINT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('hint', 'suspect', 'violation')),
    evidence TEXT NOT NULL,
    zh TEXT NOT NULL,
    en TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'cleared', 'confirmed')),
    found_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    reason TEXT,
    consequence TEXT CHECK (consequence IN ('none', 'deduct', 'recover')),
    amount BIGINT CHECK (amount >= 0),
    CHECK ((claim_id IS NULL) <> (settlement_id IS NULL)),
    CHECK ((state = 'confirmed') = (consequence IS NOT NULL))
);

INSERT INTO supervision_hits_new (id, claim_id, settlement_id, region, rule_code, rule_version, severity, evidence,
                                  zh, en, state, found_at, decided_by, decided_at, reason, consequence, amount)
SELECT id, claim_id, NULL, region, rule_code, rule_version, severity, evidence, zh, en, state, found_at,
       decided_by, decided_at, reason, CASE WHEN state = 'confirmed' THEN 'none' END, NULL
FROM supervision_hits;

DROP TABLE supervision_hits;
ALTER TABLE supervision_hits_new RENAME TO supervision_hits;
CREATE INDEX supervision_hits_claim ON supervision_hits (claim_id);
CREATE INDEX supervision_hits_settlement ON supervision_hits (settlement_id);
CREATE INDEX supervision_hits_open ON supervision_hits (region, state);
