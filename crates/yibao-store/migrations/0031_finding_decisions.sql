-- An auditor's decision on an institution finding (异常机构): cleared (the peers' figures do
-- not fit: a specialised ward, a different case mix) or confirmed, with what follows — nothing
-- more, an interview of the institution (约谈) or a special inspection (专项检查) — and a
-- reason. A re-check of the same period replaces the open findings only.
ALTER TABLE institution_findings ADD COLUMN state TEXT NOT NULL DEFAULT 'open'
    CHECK (state IN ('open', 'cleared', 'confirmed'));
ALTER TABLE institution_findings ADD COLUMN follow_up TEXT
    CHECK (follow_up IS NULL OR follow_up IN ('none', 'interview', 'inspection'));
ALTER TABLE institution_findings ADD COLUMN reason TEXT;
ALTER TABLE institution_findings ADD COLUMN decided_by TEXT;
ALTER TABLE institution_findings ADD COLUMN decided_at TEXT;
