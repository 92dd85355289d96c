-- Online payment (网上缴费) of flexible workers and residents: an order for the months or the
-- year it buys, paid through a payment gateway; only the gateway's verified notification (or
-- its answer to a query) marks it paid — never the browser's return. Every notification is
-- kept with what became of it, and a notification id is processed once.
CREATE TABLE online_orders (
    id {{ID}},
    order_no TEXT NOT NULL UNIQUE,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    kind TEXT NOT NULL CHECK (kind IN ('flexible', 'resident')),
    -- The months paid for (flexible, JSON list of YYYY-MM) or the year (resident).
    months TEXT NOT NULL,
    year BIGINT,
    base BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    subsidy BIGINT NOT NULL DEFAULT 0,
    gateway TEXT NOT NULL,
    -- refund_due: its money came after another order paid the same months (returned, not
    -- counted twice).
    state TEXT NOT NULL CHECK (state IN ('pending', 'paid', 'closed', 'refund_due')),
    created_at TEXT NOT NULL,
    paid_at TEXT,
    gateway_txn TEXT,
    -- A random key the payer's receipt link carries: order numbers are not secrets.
    view_key TEXT NOT NULL,
    CHECK ((state = 'paid') = (paid_at IS NOT NULL))
);
CREATE INDEX online_orders_person ON online_orders (person_id);

CREATE TABLE online_payment_notices (
    id {{ID}},
    gateway TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    order_no TEXT NOT NULL,
    amount BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (gateway, notification_id)
);
