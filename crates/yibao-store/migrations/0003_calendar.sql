-- The official working-day calendar as imported by policy administrators: each import is a
-- document of one or more years (the format of crates/yibao-core/data/holidays-cn.toml),
-- kept whole. The calendar in use is the built-in years overlaid by the imports in order,
-- so a new year, or a corrected one, takes effect without a release.
CREATE TABLE calendar_imports (
    id {{ID}},
    years TEXT NOT NULL,
    document TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    imported_by TEXT NOT NULL
);
