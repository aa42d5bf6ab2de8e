-- RFC 7591/7592: a client made by registration keeps, as JSON, its registration access
-- token's hash (never the token) and the token_endpoint_auth_method it registered; null for
-- every other client.
ALTER TABLE clients ADD COLUMN registration TEXT;
