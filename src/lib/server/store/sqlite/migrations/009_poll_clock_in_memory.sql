-- SQLite keeps the poll clock in memory (poll-clock.ts): a waiting poll writes nothing.
ALTER TABLE device_authorizations DROP COLUMN last_polled_at;
ALTER TABLE device_authorizations DROP COLUMN last_poll_outcome;
