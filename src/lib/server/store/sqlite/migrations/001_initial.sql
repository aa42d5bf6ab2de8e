-- People who signed in (or were named by an admin). sub is '<provider>:<id at the provider>'.
CREATE TABLE users (
	id INTEGER PRIMARY KEY,
	sub TEXT NOT NULL UNIQUE,
	provider TEXT NOT NULL,
	name TEXT,
	email TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX users_email ON users (email);

-- Browser sessions: only the SHA-256 of the cookie's token is stored.
CREATE TABLE sessions (
	token_hash BLOB PRIMARY KEY,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Mirror of CLIENTS_FILE, rewritten at start-up, so grants and the admin page can name clients.
CREATE TABLE clients (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	type TEXT NOT NULL CHECK (type IN ('public', 'confidential')),
	scopes TEXT NOT NULL
) WITHOUT ROWID;

-- RFC 8628 device authorizations. 'expired' is not stored: it is expires_at passing.
CREATE TABLE device_authorizations (
	id INTEGER PRIMARY KEY,
	device_code_hash BLOB NOT NULL UNIQUE,
	user_code TEXT NOT NULL UNIQUE,
	client_id TEXT NOT NULL,
	scope TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	interval_seconds INTEGER NOT NULL,
	last_polled_at INTEGER,
	-- What the last poll was answered, decided by the same UPDATE that moved the row.
	last_poll_outcome TEXT,
	requester_ip TEXT,
	requester_user_agent TEXT,
	entered_at INTEGER,
	decided_at INTEGER,
	denial_reason TEXT,
	owner_id INTEGER REFERENCES users (id),
	approved_by INTEGER REFERENCES users (id),
	granted_scope TEXT,
	label TEXT,
	grant_id INTEGER REFERENCES grants (id)
);
CREATE INDEX device_authorizations_expires_at ON device_authorizations (expires_at);

-- A grant is one approved device: the family its access and refresh tokens belong to.
CREATE TABLE grants (
	id INTEGER PRIMARY KEY,
	owner_id INTEGER NOT NULL REFERENCES users (id),
	client_id TEXT NOT NULL,
	scope TEXT NOT NULL,
	label TEXT,
	approved_by INTEGER REFERENCES users (id),
	created_at INTEGER NOT NULL,
	requester_ip TEXT,
	last_used_at INTEGER,
	last_used_ip TEXT,
	revoked_at INTEGER
);
CREATE INDEX grants_owner_id ON grants (owner_id);

-- Access and refresh tokens: only their SHA-256 is stored.
CREATE TABLE tokens (
	token_hash BLOB PRIMARY KEY,
	grant_id INTEGER NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
	kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	retired_at INTEGER
) WITHOUT ROWID;
CREATE INDEX tokens_grant_id ON tokens (grant_id);
CREATE INDEX tokens_expires_at ON tokens (expires_at);
