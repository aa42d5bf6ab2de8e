import { MAX_BLOCK_MS } from '../../core/rate-limit';
import { msFromSeconds } from '../../core/time';
import type { DeviceAuthorization, Store } from '../store';
import type { Connection } from './connection';
import { countingUpsert, countVerdict } from './limiter';
import { DEVICE_COLUMNS } from './shared';

type DeviceAuthorizations = Pick<
	Store,
	| 'insertDeviceAuthorization'
	| 'blockAddress'
	| 'findLiveDeviceAuthorization'
	| 'recordCodeEntry'
	| 'findEnteredUserCode'
	| 'claimDeviceAuthorization'
	| 'approveDeviceAuthorization'
	| 'denyDeviceAuthorization'
	| 'listPendingAuthorizations'
>;

/**
 * The limits are counted, the block looked up and the code inserted (only when neither
 * refuses it) in one statement: one round trip for a new code. Its text depends only on how
 * many limits it counts, so it is built once for each number.
 */
const insertStatements = new Map<number, string>();
function insertStatement(limitCount: number): string {
	let text = insertStatements.get(limitCount);
	if (text) return text;
	const counts = Array.from({ length: limitCount }, (_, i) => ({
		name: `c${i}`,
		key: `$${13 + 3 * i}`,
		windowMs: `$${14 + 3 * i}`,
		allowed: `$${15 + 3 * i}`
	}));
	text = `WITH block AS (SELECT until FROM blocked_addresses WHERE ip = $10 AND until > $5),
		 ${counts.map((c) => `${c.name} AS (${countingUpsert(c.key, '$5', c.windowMs, '$12')}),`).join('\n')}
		 inserted AS (
			INSERT INTO device_authorizations
				(device_code_hash, user_code, client_id, scope, created_at, expires_at, interval_seconds, requester_ip, requester_user_agent, dpop_jkt)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $11 WHERE NOT EXISTS (SELECT 1 FROM block)
				${counts.map((c) => `AND (SELECT count FROM ${c.name}) <= ${c.allowed}`).join(' ')}
			ON CONFLICT (user_code) DO NOTHING RETURNING id
		 )
		 SELECT (SELECT id FROM inserted) AS id, (SELECT max(until) FROM block) AS blocked_until
			${counts.map((c) => `, (SELECT count FROM ${c.name}) AS ${c.name}_count, (SELECT window_start FROM ${c.name}) AS ${c.name}_start`).join('')}`;
	insertStatements.set(limitCount, text);
	return text;
}

/** Device authorizations (RFC 8628) up to their decision, and the address blocks that refuse new ones. */
export function deviceAuthorizations({ query, one }: Connection): DeviceAuthorizations {
	return {
		insertDeviceAuthorization: async (row, limits) => {
			const result = (await one<Record<string, number | null>>(
				`insertDeviceAuthorization${limits.length ? `CountingLimits${limits.length}` : ''}`,
				insertStatement(limits.length),
				[
					row.deviceCodeHash,
					row.userCode,
					row.clientId,
					row.scope,
					row.createdAt,
					row.expiresAt,
					row.intervalSeconds,
					row.requesterIp,
					row.requesterUserAgent,
					row.requesterNetwork,
					row.dpopJkt,
					...(limits.length ? [MAX_BLOCK_MS] : []),
					...limits.flatMap(({ key, limit }) => [key, msFromSeconds(limit.windowSeconds), limit.count])
				]
			))!;
			for (const [index, { limit }] of limits.entries()) {
				const verdict = countVerdict(result[`c${index}_count`]!, result[`c${index}_start`]!, limit, row.createdAt);
				if (!verdict.ok) return { refusedBy: index, retryAfter: verdict.retryAfter, first: verdict.first };
			}
			if (result.blocked_until !== null) return { blockedUntil: result.blocked_until };
			return result.id !== null ? 'inserted' : 'user_code_taken';
		},
		blockAddress: async (ip, until, reason) => {
			await query(
				'blockAddress',
				`INSERT INTO blocked_addresses (ip, until, reason) VALUES ($1, $2, $3)
				 ON CONFLICT (ip) DO UPDATE SET until = greatest(blocked_addresses.until, excluded.until), reason = excluded.reason`,
				[ip, until, reason]
			);
		},
		findLiveDeviceAuthorization: (userCode, now) =>
			one<DeviceAuthorization>(
				'findLiveDeviceAuthorization',
				`SELECT ${DEVICE_COLUMNS} FROM device_authorizations WHERE user_code = $1 AND status = 'pending' AND expires_at > $2`,
				[userCode, now]
			),
		recordCodeEntry: (userCode, handleHash, now) =>
			one<DeviceAuthorization>(
				'recordCodeEntry',
				`WITH entered AS (
					UPDATE device_authorizations SET entered_at = coalesce(entered_at, $3)
					WHERE user_code = $1 AND status = 'pending' AND expires_at > $3
					RETURNING ${DEVICE_COLUMNS}
				 ), entry AS (
					INSERT INTO device_entries (handle_hash, authorization_id, created_at) SELECT $2, id, $3 FROM entered
				 )
				 SELECT * FROM entered`,
				[userCode, handleHash, now]
			),
		findEnteredUserCode: async (handleHash) =>
			(
				await one<{ userCode: string }>(
					'findEnteredUserCode',
					`SELECT d.user_code AS "userCode" FROM device_entries e JOIN device_authorizations d ON d.id = e.authorization_id WHERE e.handle_hash = $1`,
					[handleHash]
				)
			)?.userCode,
		claimDeviceAuthorization: (userCode, userId, now) =>
			one<DeviceAuthorization>(
				'claimDeviceAuthorization',
				`UPDATE device_authorizations SET confirming_user_id = $2
				 WHERE user_code = $1 AND status = 'pending' AND expires_at > $3 AND (confirming_user_id IS NULL OR confirming_user_id = $2)
				 RETURNING ${DEVICE_COLUMNS}`,
				[userCode, userId, now]
			),
		approveDeviceAuthorization: (a) =>
			one<DeviceAuthorization>(
				'approveDeviceAuthorization',
				`UPDATE device_authorizations
				 SET status = 'approved', owner_id = $2, approved_by = $3, granted_scope = $4, label = $5, decided_at = $7
				 WHERE user_code = $1 AND status = 'pending' AND expires_at > $7
					AND ($6::bigint IS NULL OR confirming_user_id IS NULL OR confirming_user_id = $6)
				 RETURNING ${DEVICE_COLUMNS}`,
				[a.userCode, a.ownerId, a.approvedBy, a.grantedScope, a.label, a.claimant, a.now]
			),
		denyDeviceAuthorization: (d) =>
			one<DeviceAuthorization>(
				'denyDeviceAuthorization',
				`UPDATE device_authorizations SET status = 'denied', denial_reason = $2, approved_by = $3, decided_at = $5
				 WHERE user_code = $1 AND status = 'pending' AND expires_at > $5
					AND ($4::bigint IS NULL OR confirming_user_id IS NULL OR confirming_user_id = $4)
				 RETURNING ${DEVICE_COLUMNS}`,
				[d.userCode, d.reason, d.deniedBy, d.claimant, d.now]
			),
		listPendingAuthorizations: (now, limit) =>
			query<DeviceAuthorization>(
				'listPendingAuthorizations',
				`SELECT ${DEVICE_COLUMNS} FROM device_authorizations WHERE status = 'pending' AND expires_at > $1 ORDER BY id DESC LIMIT $2`,
				[now, limit]
			)
	};
}
