-- Authorization codes: see the SQLite engine's 014.
CREATE TABLE authorization_codes (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	code_hash BYTEA NOT NULL UNIQUE,
	client_id TEXT NOT NULL,
	redirect_uri TEXT NOT NULL,
	code_challenge TEXT NOT NULL,
	scope TEXT NOT NULL,
	nonce TEXT,
	dpop_jkt TEXT,
	owner_id BIGINT NOT NULL REFERENCES users (id),
	approver_ip TEXT,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	consumed_at BIGINT,
	grant_id BIGINT REFERENCES grants (id)
);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);
