-- A code that passed the code-entry limits, as one browser entered it. The device-login
-- cookie holds a random handle whose SHA-256 is kept here, never the user code itself, so
-- a planted cookie names no code; the rows go when their authorization is swept.
CREATE TABLE device_entries (
	handle_hash BLOB PRIMARY KEY,
	authorization_id INTEGER NOT NULL REFERENCES device_authorizations (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX device_entries_authorization_id ON device_entries (authorization_id);

-- Approved codes whose CLI has not collected its tokens yet, listed (and revocable) by owner.
CREATE INDEX device_authorizations_uncollected ON device_authorizations (owner_id) WHERE status = 'approved';
