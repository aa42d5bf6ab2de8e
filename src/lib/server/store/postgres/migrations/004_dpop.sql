-- DPoP (RFC 9449): the keys device codes and tokens are bound to, and the proofs seen within
-- their window, shared by every instance: see the SQLite engine's 011.
ALTER TABLE device_authorizations ADD COLUMN dpop_jkt TEXT;
ALTER TABLE tokens ADD COLUMN dpop_jkt TEXT;
CREATE TABLE dpop_proofs (
	proof_hash BYTEA PRIMARY KEY,
	expires_at BIGINT NOT NULL
);
CREATE INDEX dpop_proofs_expires_at ON dpop_proofs (expires_at);
