-- A secret of this installation, made when the schema is: the draw of approved claims for
-- post-payment audit (事后抽查) hashes it with the claim's number, so that nobody can tell
-- from a number whether its claim will be drawn.
CREATE TABLE installation_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO installation_secrets (name, value)
    VALUES ('sample_salt', md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text));
