-- Designated institutions' staff (the hospital's medical insurance office) log in to the
-- portal: accounts gain the 'institution' role and the institution it acts for. SQLite
-- cannot change a CHECK in place, so the table is rebuilt with its ids kept. The sessions
-- that reference it are set aside while the old table goes and put back after, so no
-- foreign key is broken at any step and nobody is logged out.
CREATE TABLE sessions_kept AS SELECT * FROM sessions;
DELETE FROM sessions;

CREATE TABLE accounts_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('intake_clerk','reviewer','second_reviewer','auditor','finance','policy_admin','sys_admin','insured','institution')),
    password_hash TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    person_id BIGINT REFERENCES persons (id),
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    institution_id BIGINT REFERENCES institutions (id),
    CHECK ((role = 'institution') = (institution_id IS NOT NULL))
);

INSERT INTO accounts_new (id, username, display_name, role, password_hash, scope, person_id, failed_logins,
                          locked_until, disabled, created_at, institution_id)
SELECT id, username, display_name, role, password_hash, scope, person_id, failed_logins,
       locked_until, disabled, created_at, NULL
FROM accounts;

DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;

INSERT INTO sessions SELECT * FROM sessions_kept;
DROP TABLE sessions_kept;
