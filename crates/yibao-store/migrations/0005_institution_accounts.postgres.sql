-- Designated institutions' staff (the hospital's medical insurance office) log in to the
-- portal: accounts gain the 'institution' role and the institution it acts for.
ALTER TABLE accounts DROP CONSTRAINT accounts_role_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_role_check
    CHECK (role IN ('intake_clerk','reviewer','second_reviewer','auditor','finance','policy_admin','sys_admin','insured','institution'));
ALTER TABLE accounts ADD COLUMN institution_id BIGINT REFERENCES institutions (id);
ALTER TABLE accounts ADD CONSTRAINT accounts_institution_check
    CHECK ((role = 'institution') = (institution_id IS NOT NULL));
