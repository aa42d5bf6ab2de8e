import type { Limiter } from '../../core/rate-limit';
import type { DeviceAuthorization, NewDeviceAuthorization, Store } from '../store';
import type { Connection } from './connection';
import { DEVICE_COLUMNS, written } from './shared';

/**
 * Device authorizations (RFC 8628) up to their decision, and the address blocks that refuse new
 * ones. New codes count against this process's limits (`limiter`, the engine's own keeper).
 */
export function deviceAuthorizations(db: Connection, limiter: Limiter) {
	/** When the last address block still in the table ends (this process is the only writer). */
	let lastBlockEnds = db.prepare<[], { until: number | null }>(`SELECT max(until) AS until FROM blocked_addresses`).get()?.until ?? 0;

	const addressBlock = db.prepare<[string, number], { until: number }>(`SELECT until FROM blocked_addresses WHERE ip = ? AND until > ?`);
	const codeInsert = db.prepare<[NewDeviceAuthorization]>(
		`INSERT INTO device_authorizations
			(device_code_hash, user_code, client_id, scope, created_at, expires_at, interval_seconds, requester_ip, requester_user_agent, dpop_jkt)
		 VALUES (:deviceCodeHash, :userCode, :clientId, :scope, :createdAt, :expiresAt, :intervalSeconds, :requesterIp, :requesterUserAgent, :dpopJkt)`
	);
	const insertDeviceAuthorization: Store['insertDeviceAuthorization'] = async (row, limits) => {
		// Every limit counts the request, as PostgreSQL's one statement does; the first that refuses answers.
		const verdicts = await Promise.all(limits.map(({ key, limit }) => limiter.consume(key, limit, row.createdAt)));
		const refusedBy = verdicts.findIndex((verdict) => !verdict.ok);
		const refusal = verdicts[refusedBy];
		if (refusal && !refusal.ok) return { refusedBy, retryAfter: refusal.retryAfter, first: refusal.first };
		// With no block in force (nearly always) no query is needed.
		const block = row.requesterNetwork && row.createdAt < lastBlockEnds ? addressBlock.get(row.requesterNetwork, row.createdAt) : undefined;
		if (block) return { blockedUntil: block.until };
		try {
			codeInsert.run(row);
			return 'inserted';
		} catch (error) {
			if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return 'user_code_taken';
			throw error;
		}
	};

	const blockUpsert = db.prepare<[string, number, string]>(
		`INSERT INTO blocked_addresses (ip, until, reason) VALUES (?, ?, ?)
		 ON CONFLICT (ip) DO UPDATE SET until = max(until, excluded.until), reason = excluded.reason`
	);
	const blockAddress: Store['blockAddress'] = async (ip, until, reason) => {
		blockUpsert.run(ip, until, reason);
		lastBlockEnds = Math.max(lastBlockEnds, until);
	};

	const liveCode = db.prepare<[string, number], DeviceAuthorization>(
		`SELECT ${DEVICE_COLUMNS} FROM device_authorizations
		 WHERE user_code = ? AND status = 'pending' AND expires_at > ?`
	);
	const findLiveDeviceAuthorization: Store['findLiveDeviceAuthorization'] = async (userCode, now) => liveCode.get(userCode, now);

	const markEntered = db.prepare<[number, string, number], DeviceAuthorization>(
		`UPDATE device_authorizations SET entered_at = coalesce(entered_at, ?)
		 WHERE user_code = ? AND status = 'pending' AND expires_at > ?
		 RETURNING ${DEVICE_COLUMNS}`
	);
	const entryInsert = db.prepare<[Buffer, number, number]>(`INSERT INTO device_entries (handle_hash, authorization_id, created_at) VALUES (?, ?, ?)`);
	const recordEntry = db.transaction((userCode: string, handleHash: Buffer, now: number) => {
		const authorization = written(markEntered.all(now, userCode, now));
		if (authorization) entryInsert.run(handleHash, authorization.id, now);
		return authorization;
	});
	const recordCodeEntry: Store['recordCodeEntry'] = async (userCode, handleHash, now) => recordEntry(userCode, handleHash, now);

	const enteredUserCode = db.prepare<[Buffer], { userCode: string }>(
		`SELECT d.user_code AS userCode FROM device_entries e JOIN device_authorizations d ON d.id = e.authorization_id WHERE e.handle_hash = ?`
	);
	const findEnteredUserCode: Store['findEnteredUserCode'] = async (handleHash) => enteredUserCode.get(handleHash)?.userCode;

	const claim = db.prepare<[{ userCode: string; userId: number; now: number }], DeviceAuthorization>(
		`UPDATE device_authorizations SET confirming_user_id = :userId
		 WHERE user_code = :userCode AND status = 'pending' AND expires_at > :now
			AND (confirming_user_id IS NULL OR confirming_user_id = :userId)
		 RETURNING ${DEVICE_COLUMNS}`
	);
	const claimDeviceAuthorization: Store['claimDeviceAuthorization'] = async (userCode, userId, now) => written(claim.all({ userCode, userId, now }));

	// A decision by a person at /device/confirm names them as :claimant: only the one who
	// claimed the code may decide it. Admins and provider refusals pass no claimant.
	const approve = db.prepare<
		[{ userCode: string; ownerId: number; approvedBy: number | null; grantedScope: string; label: string | null; claimant: number | null; now: number }],
		DeviceAuthorization
	>(
		`UPDATE device_authorizations
		 SET status = 'approved', owner_id = :ownerId, approved_by = :approvedBy, granted_scope = :grantedScope,
			label = :label, decided_at = :now
		 WHERE user_code = :userCode AND status = 'pending' AND expires_at > :now
			AND (:claimant IS NULL OR confirming_user_id IS NULL OR confirming_user_id = :claimant)
		 RETURNING ${DEVICE_COLUMNS}`
	);
	const approveDeviceAuthorization: Store['approveDeviceAuthorization'] = async (approval) => written(approve.all(approval));

	const deny = db.prepare<[{ userCode: string; reason: string; deniedBy: number | null; claimant: number | null; now: number }], DeviceAuthorization>(
		`UPDATE device_authorizations
		 SET status = 'denied', denial_reason = :reason, approved_by = :deniedBy, decided_at = :now
		 WHERE user_code = :userCode AND status = 'pending' AND expires_at > :now
			AND (:claimant IS NULL OR confirming_user_id IS NULL OR confirming_user_id = :claimant)
		 RETURNING ${DEVICE_COLUMNS}`
	);
	const denyDeviceAuthorization: Store['denyDeviceAuthorization'] = async (denial) => written(deny.all(denial));

	const pendingCodes = db.prepare<[number, number], DeviceAuthorization>(
		`SELECT ${DEVICE_COLUMNS} FROM device_authorizations
		 WHERE status = 'pending' AND expires_at > ? ORDER BY id DESC LIMIT ?`
	);
	const listPendingAuthorizations: Store['listPendingAuthorizations'] = async (now, limit) => pendingCodes.all(now, limit);

	return {
		insertDeviceAuthorization,
		blockAddress,
		findLiveDeviceAuthorization,
		recordCodeEntry,
		findEnteredUserCode,
		claimDeviceAuthorization,
		approveDeviceAuthorization,
		denyDeviceAuthorization,
		listPendingAuthorizations
	};
}
