-- Who did what, when, from where. Never a secret: the user code is the only code recorded.
CREATE TABLE audit_log (
	id INTEGER PRIMARY KEY,
	at INTEGER NOT NULL,
	actor TEXT,
	action TEXT NOT NULL,
	user_code TEXT,
	client_id TEXT,
	subject TEXT,
	ip TEXT,
	detail TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX grants_revoked_at ON grants (revoked_at);
