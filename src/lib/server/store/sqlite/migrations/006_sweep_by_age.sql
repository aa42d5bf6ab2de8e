-- Every code lives DEVICE_CODE_TTL, so the oldest rows (lowest id) expire first: the sweeper
-- walks the table from its start instead, and each new code writes one B-tree fewer.
DROP INDEX device_authorizations_expires_at;
