-- doorcode on PostgreSQL: the same tables as the SQLite engine's migrations 001–007, in
-- their final shape. Times are milliseconds since the epoch (BIGINT), secrets only as
-- their SHA-256 (BYTEA).

-- People who signed in (or were named by an admin). sub is '<provider>:<id at the provider>'.
CREATE TABLE users (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	sub TEXT NOT NULL UNIQUE,
	provider TEXT NOT NULL,
	name TEXT,
	email TEXT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX users_email ON users (email);

CREATE TABLE sessions (
	token_hash BYTEA PRIMARY KEY,
	user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Mirror of CLIENTS_FILE, rewritten at start-up, so grants and the admin page can name clients.
CREATE TABLE clients (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	type TEXT NOT NULL CHECK (type IN ('public', 'confidential')),
	scopes TEXT NOT NULL
);

-- A grant is one approved device or personal token: the family its tokens belong to.
CREATE TABLE grants (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind TEXT NOT NULL DEFAULT 'device' CHECK (kind IN ('device', 'personal')),
	owner_id BIGINT NOT NULL REFERENCES users (id),
	client_id TEXT NOT NULL,
	scope TEXT NOT NULL,
	label TEXT,
	approved_by BIGINT REFERENCES users (id),
	created_at BIGINT NOT NULL,
	requester_ip TEXT,
	pickup_ip TEXT,
	expires_at BIGINT,
	last_used_at BIGINT,
	last_used_ip TEXT,
	revoked_at BIGINT
);
CREATE INDEX grants_owner_id ON grants (owner_id);
CREATE INDEX grants_active ON grants (created_at) WHERE revoked_at IS NULL;

-- RFC 8628 device authorizations. 'expired' is not stored: it is expires_at passing.
CREATE TABLE device_authorizations (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	device_code_hash BYTEA NOT NULL UNIQUE,
	user_code TEXT NOT NULL UNIQUE,
	client_id TEXT NOT NULL,
	scope TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	interval_seconds INTEGER NOT NULL,
	last_polled_at BIGINT,
	last_poll_outcome TEXT,
	requester_ip TEXT,
	requester_user_agent TEXT,
	entered_at BIGINT,
	decided_at BIGINT,
	denial_reason TEXT,
	owner_id BIGINT REFERENCES users (id),
	approved_by BIGINT REFERENCES users (id),
	granted_scope TEXT,
	label TEXT,
	grant_id BIGINT REFERENCES grants (id),
	confirming_user_id BIGINT REFERENCES users (id)
);
-- The sweeper deletes by expiry; several instances sweep at once without waiting on each other.
CREATE INDEX device_authorizations_expires_at ON device_authorizations (expires_at);
CREATE INDEX device_authorizations_pending ON device_authorizations (id) WHERE status = 'pending';
CREATE INDEX device_authorizations_uncollected ON device_authorizations (owner_id) WHERE status = 'approved';

-- A code entry that passed the limits; the device-login cookie holds the handle.
CREATE TABLE device_entries (
	handle_hash BYTEA PRIMARY KEY,
	authorization_id BIGINT NOT NULL REFERENCES device_authorizations (id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL
);
CREATE INDEX device_entries_authorization_id ON device_entries (authorization_id);

CREATE TABLE tokens (
	token_hash BYTEA PRIMARY KEY,
	grant_id BIGINT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
	kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	retired_at BIGINT
);
CREATE INDEX tokens_grant_id ON tokens (grant_id);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

-- Who did what, when, from where. Never a secret: the user code is the only code recorded.
CREATE TABLE audit_log (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at BIGINT NOT NULL,
	actor TEXT,
	action TEXT NOT NULL,
	user_code TEXT,
	client_id TEXT,
	subject TEXT,
	ip TEXT,
	detail TEXT
);

-- Addresses refused new codes for a while after someone reported a code they did not start.
CREATE TABLE blocked_addresses (
	ip TEXT PRIMARY KEY,
	until BIGINT NOT NULL,
	reason TEXT NOT NULL
);
CREATE INDEX blocked_addresses_until ON blocked_addresses (until);

-- Rate-limit windows and growing waits, shared by every instance (rate-limit.ts says the rules).
CREATE TABLE rate_limits (
	key TEXT PRIMARY KEY,
	window_start BIGINT NOT NULL,
	count INTEGER NOT NULL,
	blocked_until BIGINT NOT NULL DEFAULT 0,
	strikes INTEGER NOT NULL DEFAULT 0,
	-- When this row may be forgotten: its window and any block are over.
	forget_at BIGINT NOT NULL
);
CREATE INDEX rate_limits_forget_at ON rate_limits (forget_at);
