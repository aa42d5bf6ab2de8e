-- Authorization codes (SPEC "Sign-in on the same machine"): only each code's SHA-256, what its
-- token request must match (client, redirect_uri, PKCE challenge, DPoP key), and what its tokens
-- say (scope, nonce, owner). A code lives 60 seconds and works once; a redeemed one keeps the grant
-- it gave until it is swept, so a replay revokes that grant.
CREATE TABLE authorization_codes (
	id INTEGER PRIMARY KEY,
	code_hash BLOB NOT NULL UNIQUE,
	client_id TEXT NOT NULL,
	redirect_uri TEXT NOT NULL,
	code_challenge TEXT NOT NULL,
	scope TEXT NOT NULL,
	nonce TEXT,
	dpop_jkt TEXT,
	owner_id INTEGER NOT NULL REFERENCES users (id),
	approver_ip TEXT,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	consumed_at INTEGER,
	grant_id INTEGER REFERENCES grants (id)
);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);
