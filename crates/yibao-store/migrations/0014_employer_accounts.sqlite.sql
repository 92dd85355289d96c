-- Employer units (参保单位) log in to the portal to file claims for their employees: accounts
-- gain the 'employer' role and the unit it acts for. SQLite cannot change a CHECK in place,
-- so the table is rebuilt with its ids kept, the sessions set aside and put back (as in 0005).
CREATE TABLE sessions_kept AS SELECT * FROM sessions;
DELETE FROM sessions;

CREATE TABLE accounts_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('intake_clerk','reviewer','second_reviewer','auditor','finance','policy_admin','sys_admin','insured','institution','employer')),
    password_hash TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    person_id BIGINT REFERENCES persons (id),
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    institution_id BIGINT REFERENCES institutions (id),
    employer_id BIGINT REFERENCES employers (id),
    CHECK ((role = 'institution') = (institution_id IS NOT NULL)),
    CHECK ((role = 'employer') = (employer_id IS NOT NULL))
);

INSERT INTO accounts_new (id, username, display_name, role, password_hash, scope, person_id, failed_logins,
                          locked_until, disabled, created_at, institution_id, employer_id)
SELECT id, username, display_name, role, password_hash, scope, person_id, failed_logins,
       locked_until, disabled, created_at, institution_id, NULL
FROM accounts;

DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;

INSERT INTO sessions SELECT * FROM sessions_kept;
DROP TABLE sessions_kept;
