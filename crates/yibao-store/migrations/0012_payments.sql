-- Payment to bank cards. An approved claim becomes one payment order (UNIQUE claim_id) in
-- the transaction that approves it. Finance builds batches of ready orders; a second
-- finance user approves a batch; its export is a file rebuilt from the rows below, the same
-- bytes every time. The bank's result file sets each line's result once (a line with a
-- result is never changed again). An order is in at most one batch per attempt; a failed
-- order gets a corrected account and a new attempt. Every change is also in the audit log.

-- An employer unit's account, for the claims it files for its employees.
ALTER TABLE employers ADD COLUMN bank_name TEXT;
ALTER TABLE employers ADD COLUMN bank_card TEXT;

CREATE TABLE payment_orders (
    id {{ID}},
    number TEXT UNIQUE,
    claim_id BIGINT NOT NULL UNIQUE REFERENCES claims (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    -- The insured person's region: batches are built by region.
    region BIGINT NOT NULL,
    payee TEXT NOT NULL CHECK (payee IN ('insured', 'employer')),
    account_name TEXT NOT NULL,
    bank_name TEXT,
    bank_card TEXT,
    amount BIGINT NOT NULL CHECK (amount > 0),
    state TEXT NOT NULL CHECK (state IN ('awaiting_account', 'ready', 'batched', 'exported', 'paid', 'failed')),
    attempt BIGINT NOT NULL DEFAULT 1,
    approved_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    due_provisional BIGINT NOT NULL DEFAULT 0,
    paid_on TEXT,
    failure_code TEXT,
    failure_note TEXT,
    created_at TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX payment_orders_state ON payment_orders (region, state, id);

CREATE TABLE payment_batches (
    id {{ID}},
    number TEXT UNIQUE,
    region BIGINT NOT NULL,
    up_to TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('built', 'approved', 'exported', 'closed', 'cancelled')),
    count BIGINT NOT NULL,
    total BIGINT NOT NULL,
    built_by TEXT NOT NULL,
    built_at TEXT NOT NULL,
    approved_by TEXT,
    approved_at TEXT,
    exported_by TEXT,
    exported_at TEXT,
    exports BIGINT NOT NULL DEFAULT 0,
    file_sha256 TEXT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX payment_batches_region ON payment_batches (region, id);

CREATE TABLE payment_batch_items (
    id {{ID}},
    batch_id BIGINT NOT NULL REFERENCES payment_batches (id),
    seq BIGINT NOT NULL,
    order_id BIGINT NOT NULL REFERENCES payment_orders (id),
    attempt BIGINT NOT NULL,
    account_name TEXT NOT NULL,
    bank_name TEXT NOT NULL,
    bank_card TEXT NOT NULL,
    amount BIGINT NOT NULL,
    -- NULL until the bank answers; then 'paid' or 'failed', never changed again.
    result TEXT CHECK (result IN ('paid', 'failed')),
    result_on TEXT,
    failure_code TEXT,
    failure_note TEXT,
    -- 1 while the batch is not cancelled: an order's attempt is in one live batch only.
    live BIGINT NOT NULL DEFAULT 1,
    UNIQUE (batch_id, seq)
);
CREATE UNIQUE INDEX payment_items_attempt ON payment_batch_items (order_id, attempt) WHERE live = 1;
CREATE INDEX payment_items_order ON payment_batch_items (order_id);

-- Each result file imported, by its hash: the same file twice is recognised.
CREATE TABLE bank_result_files (
    id {{ID}},
    batch_id BIGINT NOT NULL REFERENCES payment_batches (id),
    sha256 TEXT NOT NULL,
    paid BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    UNIQUE (batch_id, sha256)
);
