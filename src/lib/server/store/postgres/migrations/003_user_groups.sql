-- The groups a person's provider said they belong to at their last sign-in: see the SQLite engine's 010.
ALTER TABLE users ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';
