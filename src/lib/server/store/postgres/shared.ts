import type pg from 'pg';
import type { NewTokenPair } from '../store';

/** What more than one area of the PostgreSQL engine uses: defined here once. */

export const DEVICE_COLUMNS = `id, user_code, client_id, scope, status, created_at, expires_at, interval_seconds,
	requester_ip, requester_user_agent, entered_at, decided_at, denial_reason, owner_id, approved_by, granted_scope, label, grant_id`;

/** A grant's next access and refresh token, in the transaction of a redeemed approval or a rotated refresh token. */
export const insertTokenPair = async (client: pg.PoolClient, grantId: number, tokens: NewTokenPair, now: number) =>
	client.query(
		`INSERT INTO tokens (token_hash, grant_id, kind, created_at, expires_at, dpop_jkt)
		 VALUES ($1, $3, 'access', $4, $5, $7), ($2, $3, 'refresh', $4, $6, $8)`,
		[
			tokens.accessTokenHash,
			tokens.refreshTokenHash,
			grantId,
			now,
			tokens.accessExpiresAt,
			tokens.refreshExpiresAt,
			tokens.accessDpopJkt,
			tokens.refreshDpopJkt
		]
	);
