-- The fund's books (基金账): one row per line of each entry a business event posts, in the
-- same transaction as the event (yibao_core::books). An entry is its (event, reference,
-- posted_at) lines; each balances within each fund. Rows are never updated or deleted.
CREATE TABLE fund_postings (
    id {{ID}},
    event TEXT NOT NULL,
    reference TEXT NOT NULL,
    fund TEXT NOT NULL,
    account TEXT NOT NULL,
    amount BIGINT NOT NULL,
    month TEXT NOT NULL,
    posted_at TEXT NOT NULL
);
CREATE INDEX fund_postings_fund ON fund_postings (fund, account, month);
CREATE INDEX fund_postings_reference ON fund_postings (reference);

-- The fund a settlement and a payment order are booked in, as it was at the event (a person
-- may change scheme or region later): the person's fund for a settlement's and a claim's
-- funds' share, the accounts' fund for a withdrawal; none for a clearing's order (booked by
-- `clearing_funds`).
ALTER TABLE settlements ADD COLUMN fund TEXT;
ALTER TABLE payment_orders ADD COLUMN fund TEXT;

-- An approved clearing's figures by fund: what its payment order pays out of each.
CREATE TABLE clearing_funds (
    clearing_id BIGINT NOT NULL REFERENCES clearings (id),
    fund TEXT NOT NULL,
    gross BIGINT NOT NULL,
    deducted BIGINT NOT NULL,
    deposit BIGINT NOT NULL,
    net BIGINT NOT NULL,
    PRIMARY KEY (clearing_id, fund)
);

-- A closed month: the balances of every fund at its end, frozen.
CREATE TABLE fund_month_closes (
    month TEXT PRIMARY KEY,
    balances TEXT NOT NULL,
    closed_by TEXT NOT NULL,
    closed_at TEXT NOT NULL
);

CREATE FUNCTION fund_postings_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'fund postings are never edited: post a correction';
END;
$$;
CREATE TRIGGER fund_postings_never_changed BEFORE UPDATE OR DELETE ON fund_postings
    FOR EACH ROW EXECUTE FUNCTION fund_postings_frozen();
