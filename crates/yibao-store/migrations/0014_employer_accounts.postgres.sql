-- Employer units (参保单位) log in to the portal to file claims for their employees: accounts
-- gain the 'employer' role and the unit it acts for.
ALTER TABLE accounts DROP CONSTRAINT accounts_role_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_role_check
    CHECK (role IN ('intake_clerk','reviewer','second_reviewer','auditor','finance','policy_admin','sys_admin','insured','institution','employer'));
ALTER TABLE accounts ADD COLUMN employer_id BIGINT REFERENCES employers (id);
ALTER TABLE accounts ADD CONSTRAINT accounts_employer_check
    CHECK ((role = 'employer') = (employer_id IS NOT NULL));
