-- Hits on direct settlements as well as on claims (2304 checks every settlement), and what a
-- confirmed hit costs: deducted from the institution at clearing (拒付) or recovered from
-- whoever was paid (追回), in fen.
ALTER TABLE supervision_hits ALTER COLUMN claim_id DROP NOT NULL;
ALTER TABLE supervision_hits ADD COLUMN settlement_id BIGINT REFERENCES settlements (id);
ALTER TABLE supervision_hits ADD COLUMN consequence TEXT CHECK (consequence IN ('none', 'deduct', 'recover'));
ALTER TABLE supervision_hits ADD COLUMN amount BIGINT CHECK (amount >= 0);
UPDATE supervision_hits SET consequence = 'none' WHERE state = 'confirmed';
ALTER TABLE supervision_hits ADD CHECK ((claim_id IS NULL) <> (settlement_id IS NULL));
ALTER TABLE supervision_hits ADD CHECK ((state = 'confirmed') = (consequence IS NOT NULL));
CREATE INDEX supervision_hits_settlement ON supervision_hits (settlement_id);
