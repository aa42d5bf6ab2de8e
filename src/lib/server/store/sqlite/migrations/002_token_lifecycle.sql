-- 'device' grants come from an approved device code; 'personal' ones are personal access tokens.
ALTER TABLE grants ADD COLUMN kind TEXT NOT NULL DEFAULT 'device' CHECK (kind IN ('device', 'personal'));
-- Where the CLI collected its tokens from, for the pickup receipt.
ALTER TABLE grants ADD COLUMN pickup_ip TEXT;
ALTER TABLE grants ADD COLUMN expires_at INTEGER;
CREATE INDEX device_authorizations_grant_id ON device_authorizations (grant_id);
