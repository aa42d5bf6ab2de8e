-- doorcode's own signing keys (ID tokens, JWT access tokens): published from activates_at
-- minus a day, signing from activates_at to retires_at, published until expires_at (when
-- every token signed with it has expired). private_jwk is encrypted when KEY_ENCRYPTION_SECRET is set.
CREATE TABLE signing_keys (
	kid TEXT PRIMARY KEY,
	alg TEXT NOT NULL,
	public_jwk TEXT NOT NULL,
	private_jwk TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	activates_at INTEGER NOT NULL,
	retires_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- When the person signed in and approved: an ID token's auth_time, from the device grant and every refresh.
ALTER TABLE grants ADD COLUMN auth_time INTEGER;
