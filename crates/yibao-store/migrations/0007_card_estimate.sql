-- A card's expected issue date is a forecast: when the 30 working days run into a year
-- whose holiday schedule is not published yet, its weekdays are counted and the date is
-- marked provisional.
ALTER TABLE cards ADD COLUMN expected_provisional BIGINT NOT NULL DEFAULT 0;
