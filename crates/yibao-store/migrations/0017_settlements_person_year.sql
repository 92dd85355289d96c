-- A person's settlements in an insurance year. Every fee upload, pre-settlement and
-- settlement counts the person's admissions that year (the second-admission threshold); without
-- this index the count scanned every settlement stored. It holds every column the count reads.
CREATE INDEX settlements_person_year ON settlements (person_id, year, med_type, status, visit_id);
