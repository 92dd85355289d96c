-- The diagnosis list people pick from by name (诊断目录): ICD-10 codes and their Chinese names,
-- as the policy administrator imports them, with the names' pinyin initials to find 高血压 by
-- 「gxy」. A later import of a code replaces its name.
CREATE TABLE diagnoses (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    initials TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    imported_by TEXT NOT NULL
);
CREATE INDEX diagnoses_name ON diagnoses (name);
CREATE INDEX diagnoses_initials ON diagnoses (initials);
