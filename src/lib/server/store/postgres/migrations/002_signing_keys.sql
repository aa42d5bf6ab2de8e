-- doorcode's own signing keys (ID tokens, JWT access tokens): see the SQLite engine's 008.
CREATE TABLE signing_keys (
	kid TEXT PRIMARY KEY,
	alg TEXT NOT NULL,
	public_jwk TEXT NOT NULL,
	private_jwk TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	activates_at BIGINT NOT NULL,
	retires_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);

-- When the person signed in and approved: an ID token's auth_time.
ALTER TABLE grants ADD COLUMN auth_time BIGINT;
