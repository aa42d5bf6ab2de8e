import type { NewGrant, NewTokenPair } from '../store';
import type { Connection } from './connection';

/** What more than one area of the SQLite engine uses: defined here once. */

/** A device authorization's columns, named as the store contract's DeviceAuthorization names them. */
export const DEVICE_COLUMNS = `id, user_code AS userCode, client_id AS clientId, scope, status, created_at AS createdAt,
	expires_at AS expiresAt, interval_seconds AS intervalSeconds, requester_ip AS requesterIp,
	requester_user_agent AS requesterUserAgent, entered_at AS enteredAt, decided_at AS decidedAt,
	denial_reason AS denialReason, owner_id AS ownerId, approved_by AS approvedBy, granted_scope AS grantedScope,
	label, grant_id AS grantId`;

/**
 * The row of a write with RETURNING. Such writes are read with .all(), never .get():
 * .get() resets the statement after its first row, before SQLite steps it to the end,
 * and only a statement stepped to its end runs the WAL auto-checkpoint, so a load of such
 * writes would grow the WAL without bound.
 */
export function written<T>(rows: T[]): T | undefined {
	return rows[0];
}

interface NewToken {
	tokenHash: Buffer;
	grantId: number;
	kind: 'access' | 'refresh';
	createdAt: number;
	expiresAt: number;
	dpopJkt: string | null;
}

/** Writing grants and tokens: a redeemed approval, a personal token and a rotated refresh token all do. */
export type GrantWrites = ReturnType<typeof grantWrites>;

export function grantWrites(db: Connection) {
	const insertGrant = db.prepare<[NewGrant & { authTime: number | null }], { id: number }>(
		`INSERT INTO grants (kind, owner_id, client_id, scope, label, approved_by, created_at, requester_ip, pickup_ip, expires_at, auth_time)
		 VALUES (:kind, :ownerId, :clientId, :scope, :label, :approvedBy, :createdAt, :requesterIp, :pickupIp, :expiresAt, :authTime)
		 RETURNING id`
	);
	const insertToken = db.prepare<[NewToken]>(
		`INSERT INTO tokens (token_hash, grant_id, kind, created_at, expires_at, dpop_jkt)
		 VALUES (:tokenHash, :grantId, :kind, :createdAt, :expiresAt, :dpopJkt)`
	);
	return {
		/** A new grant's id. */
		insertGrant: (grant: NewGrant & { authTime: number | null }) => (written(insertGrant.all(grant)) as { id: number }).id,
		insertToken: (token: NewToken) => void insertToken.run(token),
		insertTokenPair: (grantId: number, tokens: NewTokenPair, now: number) => {
			const { accessTokenHash, accessExpiresAt, accessDpopJkt, refreshTokenHash, refreshExpiresAt, refreshDpopJkt } = tokens;
			insertToken.run({ tokenHash: accessTokenHash, grantId, kind: 'access', createdAt: now, expiresAt: accessExpiresAt, dpopJkt: accessDpopJkt });
			if (refreshTokenHash)
				insertToken.run({ tokenHash: refreshTokenHash, grantId, kind: 'refresh', createdAt: now, expiresAt: refreshExpiresAt, dpopJkt: refreshDpopJkt });
		}
	};
}
