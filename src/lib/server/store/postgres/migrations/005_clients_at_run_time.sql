-- Clients live in the database: see the SQLite engine's 012.
DROP TABLE clients;
CREATE TABLE clients (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	type TEXT NOT NULL CHECK (type IN ('public', 'confidential')),
	secret_sha256 TEXT,
	settings TEXT NOT NULL,
	managed_by TEXT NOT NULL CHECK (managed_by IN ('file', 'admin', 'registration')),
	disabled_at BIGINT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	updated_by TEXT NOT NULL
);

CREATE TABLE clients_version (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	version BIGINT NOT NULL
);

-- Deleting a client revokes its live grants.
CREATE INDEX grants_live_by_client ON grants (client_id) WHERE revoked_at IS NULL;
