-- The audit log searched by action (or its first part) and by period, newest first.
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at);
