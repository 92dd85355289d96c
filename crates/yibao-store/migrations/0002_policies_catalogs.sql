-- Policies and catalogs as versioned data. Every imported version is kept; nothing is
-- overwritten. The engine uses, for a claim, the highest policy version in force on its
-- receipt date and, per catalog code, the newest entry in force (a later import wins over an
-- earlier one with the same begin date).

CREATE TABLE policies (
    id {{ID}},
    region BIGINT NOT NULL,
    scheme TEXT NOT NULL CHECK (scheme IN ('310','390')),
    year BIGINT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    effective_to TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('toml','json')),
    document TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    UNIQUE (region, scheme, year, version)
);
CREATE INDEX policies_region ON policies (region, year);

CREATE TABLE catalog_imports (
    id {{ID}},
    file_name TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('csv','xlsx')),
    sha256 TEXT NOT NULL,
    -- The regions the accepted rows are for, comma-separated.
    regions TEXT NOT NULL,
    rows_accepted BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    -- Every rejected row with its line, field and reason (JSON).
    rejected TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    imported_by TEXT NOT NULL
);

CREATE TABLE catalog_entries (
    id {{ID}},
    import_id BIGINT NOT NULL REFERENCES catalog_imports (id),
    line BIGINT NOT NULL,
    region BIGINT NOT NULL,
    code TEXT {{C}} NOT NULL,
    name TEXT {{C}} NOT NULL,
    chrgitm_lv TEXT NOT NULL,
    begin_date TEXT NOT NULL,
    end_date TEXT,
    -- The whole entry as imported (JSON): kind, self-pay share, price ceiling, restrictions.
    detail TEXT NOT NULL
);
CREATE INDEX catalog_entries_code ON catalog_entries (region, code, id);
CREATE INDEX catalog_entries_name ON catalog_entries (region, name);
CREATE INDEX catalog_entries_import ON catalog_entries (import_id, line);
