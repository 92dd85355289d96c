-- Direct settlement (2301–2305): the fee lines a hospital uploads for a visit, the
-- settlements made from them, each person's running totals per insurance year, and the
-- individual account as a ledger that never goes below zero.
ALTER TABLE visits ADD COLUMN endtime TEXT;
ALTER TABLE visits ADD COLUMN dscg_way TEXT;

CREATE TABLE fee_lines (
    id {{ID}},
    visit_id BIGINT NOT NULL REFERENCES visits (id),
    feedetl_sn TEXT NOT NULL,
    -- A refund line (negative cnt) names the line it refunds.
    init_feedetl_sn TEXT,
    med_list_codg TEXT NOT NULL,
    medins_list_codg TEXT NOT NULL,
    cnt TEXT NOT NULL,
    pric TEXT NOT NULL,
    det_item_fee_sumamt BIGINT NOT NULL,
    fee_ocur_time TEXT NOT NULL,
    -- 'undone' by 2302; kept, never deleted.
    status TEXT NOT NULL CHECK (status IN ('active', 'undone')),
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE UNIQUE INDEX fee_lines_visit_sn ON fee_lines (visit_id, feedetl_sn) WHERE status = 'active';
CREATE INDEX fee_lines_visit ON fee_lines (visit_id);

CREATE TABLE settlements (
    id {{ID}},
    setl_id TEXT UNIQUE,
    visit_id BIGINT NOT NULL REFERENCES visits (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    insutype TEXT NOT NULL,
    med_type TEXT NOT NULL,
    -- The insurance year whose running totals the settlement counts towards.
    year BIGINT NOT NULL,
    setl_date TEXT NOT NULL,
    setl_time TEXT NOT NULL,
    medfee_sumamt BIGINT NOT NULL,
    fund_pay_sumamt BIGINT NOT NULL,
    acct_pay BIGINT NOT NULL,
    psn_cash_pay BIGINT NOT NULL,
    -- The engine's outcome (lines, trace, totals before and after), the delta it added to
    -- the running totals, and the settlement list (医保结算清单), as JSON.
    outcome TEXT NOT NULL,
    ytd_delta TEXT NOT NULL,
    setl_list TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('settled', 'reversed')),
    settled_by TEXT NOT NULL,
    reversed_at TEXT,
    reversed_by TEXT
);
-- A visit has at most one settlement in force; a reversed one may be settled again.
CREATE UNIQUE INDEX settlements_visit_settled ON settlements (visit_id) WHERE status = 'settled';
CREATE INDEX settlements_institution_date ON settlements (institution_id, setl_date);

CREATE TABLE year_totals (
    person_id BIGINT NOT NULL REFERENCES persons (id),
    year BIGINT NOT NULL,
    totals TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (person_id, year)
);

CREATE TABLE individual_accounts (
    person_id BIGINT PRIMARY KEY REFERENCES persons (id),
    balance BIGINT NOT NULL CHECK (balance >= 0),
    version BIGINT NOT NULL
);

CREATE TABLE account_entries (
    id {{ID}},
    person_id BIGINT NOT NULL REFERENCES individual_accounts (person_id),
    kind TEXT NOT NULL CHECK (kind IN ('opening', 'settlement', 'reversal')),
    -- Credits positive, debits negative.
    amount BIGINT NOT NULL,
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    settlement_id BIGINT REFERENCES settlements (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX account_entries_person ON account_entries (person_id);
-- A settlement is debited once and credited back at most once.
CREATE UNIQUE INDEX account_entries_settlement ON account_entries (settlement_id, kind);
