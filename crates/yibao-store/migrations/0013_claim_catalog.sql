-- Whether a sporadic claim asked to be adjudicated against the treatment region's catalogs
-- (allowed only where the insured region's policy says so); otherwise the insured region's.
ALTER TABLE claims ADD COLUMN treatment_catalog BIGINT NOT NULL DEFAULT 0;
