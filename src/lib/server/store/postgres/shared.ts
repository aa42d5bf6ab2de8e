import type pg from 'pg';
import type { NewTokenPair } from '../store';

/** What more than one area of the PostgreSQL engine uses: defined here once. */

/** A device authorization's columns, named as the store contract's DeviceAuthorization names them. */
export const DEVICE_COLUMNS = `id, user_code AS "userCode", client_id AS "clientId", scope, status, created_at AS "createdAt",
	expires_at AS "expiresAt", interval_seconds AS "intervalSeconds", requester_ip AS "requesterIp",
	requester_user_agent AS "requesterUserAgent", entered_at AS "enteredAt", decided_at AS "decidedAt",
	denial_reason AS "denialReason", owner_id AS "ownerId", approved_by AS "approvedBy", granted_scope AS "grantedScope",
	label, grant_id AS "grantId"`;

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
