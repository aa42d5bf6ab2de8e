-- RFC 7591/7592: see the SQLite engine's 013.
ALTER TABLE clients ADD COLUMN registration TEXT;
