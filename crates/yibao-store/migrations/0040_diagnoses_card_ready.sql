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

-- A card made and waiting at the bank: the day it was ready (the person is told to collect
-- it); its status stays 'applied' until it is collected.
ALTER TABLE cards ADD COLUMN ready_on TEXT;
