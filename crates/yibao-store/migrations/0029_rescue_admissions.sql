-- A line outside the catalog a reviewer admitted as necessary for an emergency rescue (seed
-- 003), with a coded reason, a note and who did it; the policy says how it is paid.
ALTER TABLE claim_lines ADD COLUMN rescue_reason TEXT;
ALTER TABLE claim_lines ADD COLUMN rescue_note TEXT;
ALTER TABLE claim_lines ADD COLUMN rescue_by TEXT;
