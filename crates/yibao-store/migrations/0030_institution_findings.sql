-- What a re-check found about an institution over a period (异常机构, the outlier rule): its
-- median cost per case or length of stay for a diagnosis group against its peers of the same
-- grade. Found again by the next re-check of the same period, which replaces them.
CREATE TABLE institution_findings (
    id {{ID}},
    region BIGINT NOT NULL,
    rule_code TEXT NOT NULL,
    rule_version BIGINT NOT NULL,
    institution_code TEXT NOT NULL,
    grade TEXT NOT NULL,
    diagnosis_group TEXT NOT NULL,
    measure TEXT NOT NULL CHECK (measure IN ('cost_per_case', 'length_of_stay')),
    value TEXT NOT NULL,
    peers_median TEXT NOT NULL,
    score TEXT NOT NULL,
    cases BIGINT NOT NULL,
    peers BIGINT NOT NULL,
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    zh TEXT NOT NULL,
    en TEXT NOT NULL,
    found_at TEXT NOT NULL
);
CREATE INDEX institution_findings_region ON institution_findings (region, period_from, period_to);
