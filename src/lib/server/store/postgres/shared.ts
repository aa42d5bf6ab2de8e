import type pg from 'pg';
import type { NewTokenPair } from '../store';

/** What more than one area of the PostgreSQL engine uses: defined here once. */

/** A device authorization's columns, named as the store contract's DeviceAuthorization names them. */
export const DEVICE_COLUMNS = `id, user_code AS "userCode", client_id AS "clientId", scope, status, created_at AS "createdAt",
	expires_at AS "expiresAt", interval_seconds AS "intervalSeconds", requester_ip AS "requesterIp",
	requester_user_agent AS "requesterUserAgent", entered_at AS "enteredAt", decided_at AS "decidedAt",
	denial_reason AS "denialReason", owner_id AS "ownerId", approved_by AS "approvedBy", granted_scope AS "grantedScope",
	label, grant_id AS "grantId"`;

/** A grant's next access and refresh token (when it has one), in the transaction of a redeemed approval or a rotated refresh token. */
export const insertTokenPair = async (client: pg.PoolClient, grantId: number, tokens: NewTokenPair, now: number) =>
	client.query(
		`INSERT INTO tokens (token_hash, grant_id, kind, created_at, expires_at, dpop_jkt)
		 SELECT token_hash, $3, kind, $4, expires_at, dpop_jkt
		 FROM (VALUES ($1::bytea, 'access', $5::bigint, $7::text), ($2::bytea, 'refresh', $6::bigint, $8::text)) AS pair (token_hash, kind, expires_at, dpop_jkt)
		 WHERE token_hash IS NOT NULL`,
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
