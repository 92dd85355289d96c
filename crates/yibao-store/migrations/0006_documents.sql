-- Uploaded documents. The bytes live in a content-addressed blob store (a local directory
-- by default) under their SHA-256; a row says whose affair the file belongs to, what it
-- is, who uploaded it and when. Rows are never updated; the same bytes uploaded twice are
-- stored once and recorded twice.
CREATE TABLE documents (
    id {{ID}},
    person_id BIGINT NOT NULL REFERENCES persons (id),
    sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX documents_person ON documents (person_id);
