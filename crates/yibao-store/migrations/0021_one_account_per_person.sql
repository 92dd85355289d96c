-- A person has at most one account: the rule the service checks, kept by the database too
-- (two administrators creating one at the same moment cannot both succeed).
CREATE UNIQUE INDEX accounts_one_per_person ON accounts (person_id) WHERE person_id IS NOT NULL;
