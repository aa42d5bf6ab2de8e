-- The groups a person's provider said they belong to at their last sign-in (a JSON array of
-- strings): who may approve for a client can depend on them.
ALTER TABLE users ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';
