-- The one signed-in person who may decide a code: the first to open its confirm page.
ALTER TABLE device_authorizations ADD COLUMN confirming_user_id INTEGER REFERENCES users (id);
-- Addresses refused new codes for a while after someone reported a code they did not start.
CREATE TABLE blocked_addresses (
	ip TEXT PRIMARY KEY,
	until INTEGER NOT NULL,
	reason TEXT NOT NULL
) WITHOUT ROWID;
