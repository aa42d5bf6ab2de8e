-- Clients live in the database (SPEC "Clients at run time"): CLIENTS_FILE declares some at
-- every start-up (managed_by 'file'), the operator's command, the admin pages and registration
-- make the others. The mirror of CLIENTS_FILE this replaces held nothing the next start-up
-- does not declare again.
DROP TABLE clients;
CREATE TABLE clients (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	type TEXT NOT NULL CHECK (type IN ('public', 'confidential')),
	-- Hex SHA-256 of a confidential client's secret; never the secret.
	secret_sha256 TEXT,
	-- The rest of its policy (scopes, grant types, lifetimes, …) as a JSON object: a setting
	-- added later needs no migration.
	settings TEXT NOT NULL,
	managed_by TEXT NOT NULL CHECK (managed_by IN ('file', 'admin', 'registration')),
	disabled_at INTEGER,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	updated_by TEXT NOT NULL
) WITHOUT ROWID;

-- One row (made by the first change), moved in the same transaction as every change to
-- clients: each instance reads it every second and reloads its clients when it moved.
CREATE TABLE clients_version (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);

-- Deleting a client revokes its live grants.
CREATE INDEX grants_live_by_client ON grants (client_id) WHERE revoked_at IS NULL;
