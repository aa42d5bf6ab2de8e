import type pg from 'pg';
import type { NewTokenPair } from '../store';

/** What more than one area of the PostgreSQL engine uses: defined here once. */

export const DEVICE_COLUMNS = `id, user_code, client_id, scope, status, created_at, expires_at, interval_seconds,
	requester_ip, requester_user_agent, entered_at, decided_at, denial_reason, owner_id, approved_by, granted_scope, label, grant_id`;

/** A grant's next access and refresh token (when it has one), in the transaction of a redeemed approval or a rotated refresh token. */
export const insertTokenPair = async (client: pg.PoolClient, grantId: number, tokens: NewTokenPair, now: number) =>
	client.query(
		`INSERT INTO tokens (token_hash, grant_id, kind, created_at, expires_at)
		 SELECT token_hash, $3, kind, $4, expires_at FROM (VALUES ($1::bytea, 'access', $5::bigint), ($2::bytea, 'refresh', $6::bigint)) AS pair (token_hash, kind, expires_at)
		 WHERE token_hash IS NOT NULL`,
		[tokens.accessTokenHash, tokens.refreshTokenHash, grantId, now, tokens.accessExpiresAt, tokens.refreshExpiresAt]
	);
