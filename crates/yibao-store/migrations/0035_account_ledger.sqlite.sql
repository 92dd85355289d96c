-- The individual account's ledger learns where money comes from and goes: monthly credits
-- from contributions (one per person and month), a family member's settlement on the
-- holder's account (门诊共济), a designated pharmacy's purchase and its reversal, and a
-- withdrawal. Each entry carries its explanation. SQLite cannot alter a CHECK in place: the
-- table is rebuilt with its ids kept.
CREATE TABLE account_entries_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id BIGINT NOT NULL REFERENCES individual_accounts (person_id),
    kind TEXT NOT NULL CHECK (kind IN ('opening', 'settlement', 'reversal', 'credit', 'pharmacy',
                                       'pharmacy_reversal', 'withdrawal')),
    amount BIGINT NOT NULL,
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    settlement_id BIGINT REFERENCES settlements (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    credit_month TEXT,
    drawn_by BIGINT REFERENCES persons (id),
    reference TEXT,
    note TEXT,
    CHECK ((kind = 'credit') = (credit_month IS NOT NULL))
);

INSERT INTO account_entries_new (id, person_id, kind, amount, balance_after, settlement_id, at, actor)
SELECT id, person_id, kind, amount, balance_after, settlement_id, at, actor FROM account_entries;

DROP TABLE account_entries;
ALTER TABLE account_entries_new RENAME TO account_entries;
CREATE INDEX account_entries_person ON account_entries (person_id);
CREATE UNIQUE INDEX account_entries_settlement ON account_entries (settlement_id, kind);
CREATE UNIQUE INDEX account_entries_credit ON account_entries (person_id, credit_month) WHERE kind = 'credit';
CREATE UNIQUE INDEX account_entries_reference ON account_entries (person_id, kind, reference) WHERE reference IS NOT NULL;

-- A run of the monthly crediting job: its region and month, how far it got.
CREATE TABLE account_credit_runs (
    id {{ID}},
    region BIGINT NOT NULL,
    month TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    credited BIGINT NOT NULL DEFAULT 0,
    amount BIGINT NOT NULL DEFAULT 0,
    actor TEXT NOT NULL
);

-- 门诊共济: a holder lets a family member settle on the holder's account, until revoked.
CREATE TABLE family_authorisations (
    id {{ID}},
    holder_id BIGINT NOT NULL REFERENCES persons (id),
    member_id BIGINT NOT NULL REFERENCES persons (id),
    relation TEXT NOT NULL CHECK (relation IN ('spouse', 'parent', 'child')),
    granted_at TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT,
    CHECK (holder_id <> member_id)
);
CREATE UNIQUE INDEX family_authorisations_live ON family_authorisations (holder_id, member_id) WHERE revoked_at IS NULL;
CREATE INDEX family_authorisations_member ON family_authorisations (member_id);

-- A purchase at a designated retail pharmacy (the platform's 2102), paid from the buyer's
-- account, a family member's (holder_id) and cash; reversed by 2103.
CREATE TABLE pharmacy_purchases (
    id {{ID}},
    setl_id TEXT UNIQUE,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    holder_id BIGINT REFERENCES persons (id),
    invono TEXT NOT NULL,
    medfee_sumamt BIGINT NOT NULL CHECK (medfee_sumamt >= 0),
    inscp_amt BIGINT NOT NULL CHECK (inscp_amt >= 0),
    acct_pay BIGINT NOT NULL CHECK (acct_pay >= 0),
    acct_mulaid_pay BIGINT NOT NULL CHECK (acct_mulaid_pay >= 0),
    psn_cash_pay BIGINT NOT NULL CHECK (psn_cash_pay >= 0),
    lines TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('settled', 'reversed')),
    settled_at TEXT NOT NULL,
    reversed_at TEXT,
    CHECK (acct_pay + acct_mulaid_pay + psn_cash_pay = medfee_sumamt)
);
CREATE UNIQUE INDEX pharmacy_purchases_invoice ON pharmacy_purchases (institution_id, invono) WHERE status = 'settled';
CREATE INDEX pharmacy_purchases_person ON pharmacy_purchases (person_id);
CREATE INDEX pharmacy_purchases_holder ON pharmacy_purchases (holder_id);

-- The crediting job walks a pooling region's persons in id order, a chunk at a time.
CREATE INDEX persons_pooling ON persons (pooling_region, id);
