-- Nothing looks device authorizations up by grant; the index only slowed every new code.
DROP INDEX device_authorizations_grant_id;
