-- DPoP (RFC 9449): the key a device code is bound to from its first request, and the key each
-- access token (and a public client's refresh token) is bound to, as its JWK SHA-256 thumbprint (RFC 7638).
ALTER TABLE device_authorizations ADD COLUMN dpop_jkt TEXT;
ALTER TABLE tokens ADD COLUMN dpop_jkt TEXT;
-- The proofs seen while their iat is still accepted: by the SHA-256 of the key's thumbprint and
-- the proof's jti, so a jti is accepted once per key. The sweeper deletes them by expiry.
CREATE TABLE dpop_proofs (
	proof_hash BLOB PRIMARY KEY,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX dpop_proofs_expires_at ON dpop_proofs (expires_at);
