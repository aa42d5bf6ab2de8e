import pg from 'pg';
import type { Client } from '../../core/clients';
import { orderMigrations } from '../migrations';
import { SLOW_DOWN_SECONDS } from '../poll-rule';
import { MAX_BLOCK_MS, MAX_STRIKES, refuse, type Limit, type Limiter, type Verdict } from '../../core/rate-limit';
import type { Database } from '../../core/services';
import {
	DatabaseUnavailable,
	ERASED_PRIVATE_KEY,
	type AccessTokenRow,
	type AdminGrantRow,
	type AuditRow,
	type DeviceAuthorizationRow,
	type GrantRow,
	type NewTokenPair,
	type PickupRow,
	type PolledAuthorizationRow,
	type SessionRow,
	type SigningKeyRow,
	type Store,
	type TokenStateRow,
	type UncollectedApprovalRow,
	type UserRow
} from '../store';

/**
 * The PostgreSQL engine of the store contract (store.ts), with node-postgres: any number
 * of doorcode instances share one database. Every state transition is one statement
 * (`UPDATE … WHERE status = … RETURNING`) or one transaction on one connection; rate
 * limits and address blocks live in the database too, so they hold across instances.
 */

/** Read and ordered once, at start-up. */
const MIGRATIONS = orderMigrations(import.meta.glob<string>('./migrations/*.sql', { query: '?raw', import: 'default', eager: true }));

/** Any number that fits: doorcode's BIGINTs are ids and milliseconds, far below 2^53. */
const types = {
	getTypeParser: ((oid: number, format?: string) =>
		oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser
};

/** Connections the pool keeps open per instance unless DATABASE_POOL_SIZE says otherwise. */
export const DEFAULT_POOL_SIZE = 10;

const DEVICE_COLUMNS = `id, user_code, client_id, scope, status, created_at, expires_at, interval_seconds,
	requester_ip, requester_user_agent, entered_at, decided_at, denial_reason, owner_id, approved_by, granted_scope, label, grant_id`;

/** A poll sooner than the interval after the last poll that was answered (poll-rule.ts). */
const TOO_SOON = '(last_polled_at IS NOT NULL AND $3 < last_polled_at + interval_seconds::bigint * 1000)';

/**
 * Errors that mean "the database is not there right now", not "this query is wrong":
 * no connection (Node's socket errors, pg's timeouts and dropped connections) or the
 * server refusing work while it starts, stops or recovers (SQLSTATE classes 08 and 57P).
 */
function isUnavailable(error: unknown): boolean {
	const { code, message } = error as { code?: string; message?: string };
	if (
		typeof code === 'string' &&
		(code.startsWith('08') || code.startsWith('57P') || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND'].includes(code))
	) {
		return true;
	}
	return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection closed/i.test(message ?? '');
}

/** Runs work against the database; an outage becomes DatabaseUnavailable, anything else stays as it is. */
async function reaching<T>(work: () => Promise<T>): Promise<T> {
	try {
		return await work();
	} catch (error) {
		throw isUnavailable(error) ? new DatabaseUnavailable() : error;
	}
}

/** One query; an outage becomes DatabaseUnavailable. */
function run<T extends pg.QueryResultRow = pg.QueryResultRow>(on: pg.Pool, config: pg.QueryConfig): Promise<pg.QueryResult<T>> {
	return reaching(() => on.query<T>(config));
}

/** Migrations, and replacing the clients, run under these advisory locks: instances started together take turns. */
const MIGRATION_LOCK = 8_628_000;
const CLIENTS_LOCK = 8_628_001;
const SIGNING_KEY_LOCK = 8_628_002;

export interface PostgresOptions {
	url: string;
	poolSize?: number;
}

export async function openPostgresDatabase({ url, poolSize = DEFAULT_POOL_SIZE }: PostgresOptions): Promise<Database & { store: Store }> {
	const pool = new pg.Pool({ connectionString: url, max: poolSize, types, connectionTimeoutMillis: 5_000 });
	// A poll only moves its clock: losing the last few to a crash costs a CLI one extra poll,
	// so those commits do not wait for the WAL flush. Every other write does (RFC 8628 transitions).
	const clockPool = new pg.Pool({
		connectionString: url,
		max: Math.max(2, Math.ceil(poolSize / 2)),
		types,
		connectionTimeoutMillis: 5_000,
		options: '-c synchronous_commit=off'
	});
	// An idle connection the server dropped must not crash the process; the next query reconnects.
	pool.on('error', () => {});
	clockPool.on('error', () => {});
	await migrate(pool);

	const query = async <T extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<T[]> =>
		(await run<T>(pool, { name, text, values })).rows;
	const one = async <T extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<T | undefined> =>
		(await query<T>(name, text, values))[0];

	/** Runs `work` in one transaction on one connection. */
	function transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
		return reaching(() => inTransaction(work));
	}

	async function inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
		const client = await pool.connect();
		try {
			await client.query('BEGIN');
			const result = await work(client);
			await client.query('COMMIT');
			return result;
		} catch (error) {
			await client.query('ROLLBACK').catch(() => {});
			throw error;
		} finally {
			client.release();
		}
	}

	const insertTokenPair = async (client: pg.PoolClient, grantId: number, tokens: NewTokenPair, now: number) =>
		client.query(`INSERT INTO tokens (token_hash, grant_id, kind, created_at, expires_at) VALUES ($1, $3, 'access', $4, $5), ($2, $3, 'refresh', $4, $6)`, [
			tokens.accessTokenHash,
			tokens.refreshTokenHash,
			grantId,
			now,
			tokens.accessExpiresAt,
			tokens.refreshExpiresAt
		]);

	const sweepBatch = async (name: string, table: string, key: string, column: string, now: number, limit: number) =>
		(
			await run(pool, {
				name,
				// SKIP LOCKED: instances sweeping at once take different rows and never wait on each other.
				text: `DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ${column} <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
				values: [now, limit]
			})
		).rowCount ?? 0;

	const store: Store = {
		close: async () => {
			await Promise.all([pool.end(), clockPool.end()]);
		},

		schemaIsCurrent: async () => {
			const applied = new Set((await query<{ name: string }>('appliedMigrations', `SELECT name FROM schema_migrations`, [])).map((row) => row.name));
			return MIGRATIONS.every(([name]) => applied.has(name));
		},
		databaseTime: async () => (await one<{ now: number }>('databaseTime', `SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now`, []))!.now,

		upsertUser: async (user, now) =>
			(await one<UserRow>(
				'upsertUser',
				`INSERT INTO users (sub, provider, name, email, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
				 ON CONFLICT (sub) DO UPDATE SET name = coalesce(excluded.name, users.name), email = coalesce(excluded.email, users.email),
					updated_at = excluded.updated_at
				 RETURNING id, sub, provider, name, email`,
				[user.sub, user.provider, user.name, user.email, now]
			)) as UserRow,
		findUserBySub: (sub) => one<UserRow>('findUserBySub', `SELECT id, sub, provider, name, email FROM users WHERE sub = $1`, [sub]),
		insertSession: async (tokenHash, userId, now, expiresAt) => {
			await query('insertSession', `INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`, [
				tokenHash,
				userId,
				now,
				expiresAt
			]);
		},
		findSession: (tokenHash) =>
			one<SessionRow>(
				'findSession',
				`SELECT s.user_id, s.expires_at, u.sub, u.provider, u.name, u.email FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`,
				[tokenHash]
			),
		extendSession: async (tokenHash, expiresAt) => {
			await query('extendSession', `UPDATE sessions SET expires_at = $2 WHERE token_hash = $1`, [tokenHash, expiresAt]);
		},
		deleteSession: async (tokenHash) => {
			await query('deleteSession', `DELETE FROM sessions WHERE token_hash = $1`, [tokenHash]);
		},

		// Instances starting together each replace the clients: they take turns under a lock.
		replaceClients: (clients: Client[]) =>
			transaction(async (client) => {
				await client.query('SELECT pg_advisory_xact_lock($1)', [CLIENTS_LOCK]);
				await client.query(`DELETE FROM clients`);
				for (const c of clients)
					await client.query(`INSERT INTO clients (id, name, type, scopes) VALUES ($1, $2, $3, $4)`, [c.id, c.name, c.type, c.scopes.join(' ')]);
			}),

		insertDeviceAuthorization: async (row) => {
			const result = (await one<{ id: number | null; blocked_until: number | null }>(
				'insertDeviceAuthorization',
				`WITH block AS (SELECT until FROM blocked_addresses WHERE ip = $10 AND until > $5),
				 inserted AS (
					INSERT INTO device_authorizations
						(device_code_hash, user_code, client_id, scope, created_at, expires_at, interval_seconds, requester_ip, requester_user_agent)
					SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE NOT EXISTS (SELECT 1 FROM block)
					ON CONFLICT (user_code) DO NOTHING RETURNING id
				 )
				 SELECT (SELECT id FROM inserted) AS id, (SELECT max(until) FROM block) AS blocked_until`,
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
					row.requesterNetwork
				]
			))!;
			if (result.blocked_until !== null) return { blockedUntil: result.blocked_until };
			return result.id !== null ? 'inserted' : 'user_code_taken';
		},
		findLiveDeviceAuthorization: (userCode, now) =>
			one<DeviceAuthorizationRow>(
				'findLiveDeviceAuthorization',
				`SELECT ${DEVICE_COLUMNS} FROM device_authorizations WHERE user_code = $1 AND status = 'pending' AND expires_at > $2`,
				[userCode, now]
			),
		recordCodeEntry: (userCode, handleHash, now) =>
			one<DeviceAuthorizationRow>(
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
				await one<{ user_code: string }>(
					'findEnteredUserCode',
					`SELECT d.user_code FROM device_entries e JOIN device_authorizations d ON d.id = e.authorization_id WHERE e.handle_hash = $1`,
					[handleHash]
				)
			)?.user_code,
		claimDeviceAuthorization: (userCode, userId, now) =>
			one<DeviceAuthorizationRow>(
				'claimDeviceAuthorization',
				`UPDATE device_authorizations SET confirming_user_id = $2
				 WHERE user_code = $1 AND status = 'pending' AND expires_at > $3 AND (confirming_user_id IS NULL OR confirming_user_id = $2)
				 RETURNING ${DEVICE_COLUMNS}`,
				[userCode, userId, now]
			),
		approveDeviceAuthorization: (a) =>
			one<DeviceAuthorizationRow>(
				'approveDeviceAuthorization',
				`UPDATE device_authorizations
				 SET status = 'approved', owner_id = $2, approved_by = $3, granted_scope = $4, label = $5, decided_at = $7
				 WHERE user_code = $1 AND status = 'pending' AND expires_at > $7
					AND ($6::bigint IS NULL OR confirming_user_id IS NULL OR confirming_user_id = $6)
				 RETURNING ${DEVICE_COLUMNS}`,
				[a.userCode, a.ownerId, a.approvedBy, a.grantedScope, a.label, a.claimant, a.now]
			),
		denyDeviceAuthorization: (d) =>
			one<DeviceAuthorizationRow>(
				'denyDeviceAuthorization',
				`UPDATE device_authorizations SET status = 'denied', denial_reason = $2, approved_by = $3, decided_at = $5
				 WHERE user_code = $1 AND status = 'pending' AND expires_at > $5
					AND ($4::bigint IS NULL OR confirming_user_id IS NULL OR confirming_user_id = $4)
				 RETURNING ${DEVICE_COLUMNS}`,
				[d.userCode, d.reason, d.deniedBy, d.claimant, d.now]
			),
		// decidePoll (poll-rule.ts) as one statement and one round trip, in the same order; every
		// SET expression reads the row as it was. Committed without waiting for the WAL flush.
		pollDeviceAuthorization: async (deviceCodeHash, clientId, now) =>
			(
				await run<PolledAuthorizationRow>(clockPool, {
					name: 'pollDeviceAuthorization',
					text: `UPDATE device_authorizations SET
						last_poll_outcome = CASE
							WHEN status = 'consumed' THEN 'replayed'
							WHEN ${TOO_SOON} THEN 'slow_down'
							WHEN status = 'denied' THEN 'denied'
							WHEN expires_at <= $3 THEN 'expired'
							WHEN status = 'approved' THEN 'issue'
							ELSE 'pending'
						END,
						interval_seconds = interval_seconds + CASE WHEN status <> 'consumed' AND ${TOO_SOON} THEN ${SLOW_DOWN_SECONDS} ELSE 0 END,
						last_polled_at = CASE WHEN status <> 'consumed' AND ${TOO_SOON} THEN last_polled_at ELSE $3 END
					 WHERE device_code_hash = $1 AND client_id = $2
					 RETURNING id, last_poll_outcome, last_polled_at, interval_seconds, entered_at, denial_reason, grant_id`,
					values: [deviceCodeHash, clientId, now]
				})
			).rows[0],
		redeemApprovedAuthorization: (authorizationId, tokens, pickupIp, now) =>
			transaction(async (client) => {
				const consumed = (
					await client.query<DeviceAuthorizationRow>(
						`UPDATE device_authorizations SET status = 'consumed' WHERE id = $1 AND status = 'approved' RETURNING ${DEVICE_COLUMNS}`,
						[authorizationId]
					)
				).rows[0];
				if (!consumed || consumed.owner_id === null) return undefined;
				const scope = consumed.granted_scope ?? consumed.scope;
				const grant = (
					await client.query<{ id: number }>(
						`INSERT INTO grants (kind, owner_id, client_id, scope, label, approved_by, created_at, requester_ip, pickup_ip, auth_time)
						 VALUES ('device', $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
						[consumed.owner_id, consumed.client_id, scope, consumed.label, consumed.approved_by, now, consumed.requester_ip, pickupIp, consumed.decided_at]
					)
				).rows[0];
				await client.query(`UPDATE device_authorizations SET grant_id = $2 WHERE id = $1`, [authorizationId, grant.id]);
				await insertTokenPair(client, grant.id, tokens, now);
				const subs = (
					await client.query<{ owner_sub: string; approver_sub: string | null }>(
						`SELECT o.sub AS owner_sub, a.sub AS approver_sub FROM users o LEFT JOIN users a ON a.id = $2 WHERE o.id = $1`,
						[consumed.owner_id, consumed.approved_by]
					)
				).rows[0];
				return { grantId: grant.id, scope, ownerSub: subs.owner_sub, approverSub: subs.approver_sub };
			}),
		findApprovedIssuance: async (authorizationId) => {
			const row = await one<{ sub: string; name: string | null; email: string | null; scope: string; auth_time: number; actor: string | null }>(
				'findApprovedIssuance',
				`SELECT u.sub, u.name, u.email, coalesce(d.granted_scope, d.scope) AS scope, d.decided_at AS auth_time, a.sub AS actor
				 FROM device_authorizations d JOIN users u ON u.id = d.owner_id LEFT JOIN users a ON a.id = d.approved_by
				 WHERE d.id = $1 AND d.status = 'approved'`,
				[authorizationId]
			);
			return row && { sub: row.sub, name: row.name, email: row.email, scope: row.scope, authTime: row.auth_time, actor: row.actor };
		},
		listPendingAuthorizations: (now, limit) =>
			query<DeviceAuthorizationRow>(
				'listPendingAuthorizations',
				`SELECT ${DEVICE_COLUMNS} FROM device_authorizations WHERE status = 'pending' AND expires_at > $1 ORDER BY id DESC LIMIT $2`,
				[now, limit]
			),
		listUncollectedApprovals: (ownerId, now) =>
			query<UncollectedApprovalRow>(
				'listUncollectedApprovals',
				`SELECT d.id, d.user_code, d.client_id, c.name AS client_name, d.granted_scope, d.label, d.decided_at, d.requester_ip,
					o.sub AS owner_sub, o.name AS owner_name
				 FROM device_authorizations d JOIN users o ON o.id = d.owner_id LEFT JOIN clients c ON c.id = d.client_id
				 WHERE d.status = 'approved' AND d.expires_at > $2 AND ($1::bigint IS NULL OR d.owner_id = $1)
				 ORDER BY d.decided_at DESC LIMIT 200`,
				[ownerId, now]
			),
		revokeUncollectedApproval: (id, ownerId, now) =>
			one<{ user_code: string; client_id: string }>(
				'revokeUncollectedApproval',
				`UPDATE device_authorizations SET status = 'denied', denial_reason = 'revoked', decided_at = $3
				 WHERE id = $1 AND status = 'approved' AND ($2::bigint IS NULL OR owner_id = $2)
				 RETURNING user_code, client_id`,
				[id, ownerId, now]
			),
		findPickup: (userCode, ownerId) =>
			one<PickupRow>(
				'findPickup',
				`SELECT d.status, d.requester_ip, d.client_id, g.created_at AS picked_up_at, g.pickup_ip
				 FROM device_authorizations d LEFT JOIN grants g ON g.id = d.grant_id WHERE d.user_code = $1 AND d.owner_id = $2`,
				[userCode, ownerId]
			),

		findCollectedGrant: async (id, ownerId) =>
			(
				await one<{ grant_id: number }>(
					'findCollectedGrant',
					`SELECT d.grant_id FROM device_authorizations d JOIN grants g ON g.id = d.grant_id
					 WHERE d.id = $1 AND d.status = 'consumed' AND ($2::bigint IS NULL OR d.owner_id = $2) AND g.revoked_at IS NULL`,
					[id, ownerId]
				)
			)?.grant_id,

		blockAddress: async (ip, until, reason) => {
			await query(
				'blockAddress',
				`INSERT INTO blocked_addresses (ip, until, reason) VALUES ($1, $2, $3)
				 ON CONFLICT (ip) DO UPDATE SET until = greatest(blocked_addresses.until, excluded.until), reason = excluded.reason`,
				[ip, until, reason]
			);
		},

		createPersonalGrant: (grant, tokenHash) =>
			transaction(async (client) => {
				const { id } = (
					await client.query<{ id: number }>(
						`INSERT INTO grants (kind, owner_id, client_id, scope, label, approved_by, created_at, requester_ip, pickup_ip, expires_at)
						 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
						[
							grant.kind,
							grant.ownerId,
							grant.clientId,
							grant.scope,
							grant.label,
							grant.approvedBy,
							grant.createdAt,
							grant.requesterIp,
							grant.pickupIp,
							grant.expiresAt
						]
					)
				).rows[0];
				await client.query(`INSERT INTO tokens (token_hash, grant_id, kind, created_at, expires_at) VALUES ($1, $2, 'access', $3, $4)`, [
					tokenHash,
					id,
					grant.createdAt,
					grant.expiresAt ?? grant.createdAt
				]);
				return id;
			}),
		rotateRefreshToken: (tokenHash, clientId, next, now) =>
			transaction(async (client) => {
				// RFC 9700 §4.14.2: retiring the token is the whole decision; of two concurrent refreshes one wins.
				const retired = (
					await client.query<{ grant_id: number; scope: string }>(
						`UPDATE tokens t SET retired_at = $3 FROM grants g
						 WHERE t.token_hash = $1 AND t.kind = 'refresh' AND t.retired_at IS NULL AND t.expires_at > $3
							AND g.id = t.grant_id AND g.client_id = $2 AND g.revoked_at IS NULL
						 RETURNING t.grant_id, g.scope`,
						[tokenHash, clientId, now]
					)
				).rows[0];
				if (retired) {
					await insertTokenPair(client, retired.grant_id, next, now);
					return { outcome: 'rotated' as const, grantId: retired.grant_id, scope: retired.scope };
				}
				const reused = (
					await client.query<{ grant_id: number; sub: string }>(
						`UPDATE grants g SET revoked_at = $3 FROM tokens t, users u
						 WHERE t.token_hash = $1 AND t.kind = 'refresh' AND t.retired_at IS NOT NULL AND g.id = t.grant_id
							AND g.client_id = $2 AND g.revoked_at IS NULL AND u.id = g.owner_id
						 RETURNING g.id AS grant_id, u.sub`,
						[tokenHash, clientId, now]
					)
				).rows[0];
				return reused ? { outcome: 'reused' as const, grantId: reused.grant_id, sub: reused.sub } : { outcome: 'refused' as const };
			}),
		findTokenState: (tokenHash) =>
			one<TokenStateRow>(
				'findTokenState',
				`SELECT t.grant_id, t.kind, t.created_at, t.expires_at, t.retired_at, g.client_id, g.scope, g.revoked_at, u.sub, u.name, u.email, g.auth_time,
					a.sub AS approved_by_sub
				 FROM tokens t JOIN grants g ON g.id = t.grant_id JOIN users u ON u.id = g.owner_id LEFT JOIN users a ON a.id = g.approved_by
				 WHERE t.token_hash = $1`,
				[tokenHash]
			),
		findActiveAccessToken: (tokenHash, now) =>
			one<AccessTokenRow>(
				'findActiveAccessToken',
				`SELECT t.grant_id, t.expires_at, g.scope, g.client_id, u.sub, u.provider, u.name, u.email, a.sub AS approved_by_sub
				 FROM tokens t JOIN grants g ON g.id = t.grant_id JOIN users u ON u.id = g.owner_id LEFT JOIN users a ON a.id = g.approved_by
				 WHERE t.token_hash = $1 AND t.kind = 'access' AND t.retired_at IS NULL AND t.expires_at > $2 AND g.revoked_at IS NULL`,
				[tokenHash, now]
			),
		retireAccessToken: async (tokenHash, now) => {
			await query('retireAccessToken', `UPDATE tokens SET retired_at = coalesce(retired_at, $2) WHERE token_hash = $1 AND kind = 'access'`, [tokenHash, now]);
		},
		touchGrant: async (grantId, now, ip) => {
			await query('touchGrant', `UPDATE grants SET last_used_at = $2, last_used_ip = $3 WHERE id = $1`, [grantId, now, ip]);
		},
		revokeGrant: async (grantId, now) => {
			await query('revokeGrant', `UPDATE grants SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1`, [grantId, now]);
		},
		revokeOwnGrant: async (grantId, ownerId, now) =>
			(await one('revokeOwnGrant', `UPDATE grants SET revoked_at = $3 WHERE id = $1 AND owner_id = $2 AND revoked_at IS NULL RETURNING id`, [
				grantId,
				ownerId,
				now
			])) !== undefined,
		revokeAnyGrant: (grantId, now) =>
			one<{ id: number; client_id: string; owner_id: number }>(
				'revokeAnyGrant',
				`UPDATE grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id, client_id, owner_id`,
				[grantId, now]
			),
		listActiveGrants: (ownerId, kind, now) =>
			query<GrantRow>(
				'listActiveGrants',
				`SELECT g.id, g.kind, g.client_id, c.name AS client_name, g.scope, g.label, g.created_at, g.expires_at,
					g.requester_ip, g.pickup_ip, g.last_used_at, g.last_used_ip, a.sub AS approved_by_sub
				 FROM grants g LEFT JOIN clients c ON c.id = g.client_id LEFT JOIN users a ON a.id = g.approved_by
				 WHERE g.owner_id = $1 AND g.kind = $2 AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $3)
				 ORDER BY g.created_at DESC`,
				[ownerId, kind, now]
			),
		listAllActiveGrants: (now, filter, limit) =>
			query<AdminGrantRow>(
				'listAllActiveGrants',
				`SELECT g.id, g.kind, g.client_id, c.name AS client_name, g.scope, g.label, g.created_at, g.expires_at,
					g.requester_ip, g.pickup_ip, g.last_used_at, g.last_used_ip, a.sub AS approved_by_sub, o.sub AS owner_sub, o.name AS owner_name
				 FROM grants g JOIN users o ON o.id = g.owner_id LEFT JOIN clients c ON c.id = g.client_id LEFT JOIN users a ON a.id = g.approved_by
				 WHERE g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $1)
					AND ($2 = '' OR strpos(lower(o.sub), $2) > 0 OR strpos(lower(coalesce(o.name, '')), $2) > 0
						OR strpos(lower(coalesce(o.email, '')), $2) > 0 OR strpos(lower(coalesce(g.label, '')), $2) > 0)
				 ORDER BY g.created_at DESC LIMIT $3`,
				[now, filter, limit]
			),

		listSigningKeys: (now) => query<SigningKeyRow>('listSigningKeys', `SELECT * FROM signing_keys WHERE expires_at > $1 ORDER BY activates_at`, [now]),
		// Instances making the next key at once: one adds it, under a lock.
		addSigningKey: (key) =>
			transaction(async (client) => {
				await client.query('SELECT pg_advisory_xact_lock($1)', [SIGNING_KEY_LOCK]);
				const added = await client.query(
					`INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk, created_at, activates_at, retires_at, expires_at)
					 SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE retires_at > $6)`,
					[key.kid, key.alg, key.public_jwk, key.private_jwk, key.created_at, key.activates_at, key.retires_at, key.expires_at]
				);
				return added.rowCount === 1;
			}),

		sealSigningKey: async (kid, stored, sealed) => {
			await query('sealSigningKey', `UPDATE signing_keys SET private_jwk = $3 WHERE kid = $1 AND private_jwk = $2`, [kid, stored, sealed]);
		},
		eraseRetiredPrivateKeys: async (retiredBefore) =>
			(
				await run(pool, {
					name: 'eraseRetiredPrivateKeys',
					text: `UPDATE signing_keys SET private_jwk = $2 WHERE retires_at <= $1 AND private_jwk <> $2`,
					values: [retiredBefore, ERASED_PRIVATE_KEY]
				})
			).rowCount ?? 0,
		deleteExpiredSigningKeys: async (now) =>
			(await run(pool, { name: 'deleteExpiredSigningKeys', text: `DELETE FROM signing_keys WHERE expires_at <= $1`, values: [now] })).rowCount ?? 0,

		insertAudit: async (entry, at) => {
			await query(
				'insertAudit',
				`INSERT INTO audit_log (at, actor, action, user_code, client_id, subject, ip, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				[at, entry.actor, entry.action, entry.userCode ?? null, entry.clientId ?? null, entry.subject ?? null, entry.ip ?? null, entry.detail ?? null]
			);
		},
		listAudit: (limit, offset) => query<AuditRow>('listAudit', `SELECT * FROM audit_log ORDER BY id DESC LIMIT $1 OFFSET $2`, [limit, offset]),

		deleteExpiredDeviceAuthorizations: (now, limit) => sweepBatch('sweepDeviceAuthorizations', 'device_authorizations', 'id', 'expires_at', now, limit),
		deleteExpiredTokens: (now, limit) => sweepBatch('sweepTokens', 'tokens', 'token_hash', 'expires_at', now, limit),
		deleteExpiredSessions: (now, limit) => sweepBatch('sweepSessions', 'sessions', 'token_hash', 'expires_at', now, limit),
		deleteExpiredBlocks: (now, limit) => sweepBatch('sweepBlocks', 'blocked_addresses', 'ip', 'until', now, limit)
	};

	return { store, limiter: postgresLimiter(pool) };
}

/**
 * The rules of rate-limit.ts (MemoryLimiter) kept in the database, so every instance
 * counts against the same windows; each check is one statement.
 */
function postgresLimiter(pool: pg.Pool): Limiter {
	return {
		async consume(key: string, limit: Limit, now: number): Promise<Verdict> {
			const window = limit.windowSeconds * 1000;
			const { count, window_start } = (
				await run<{ count: number; window_start: number }>(pool, {
					name: 'rateLimitConsume',
					text: `INSERT INTO rate_limits AS r (key, window_start, count, forget_at) VALUES ($1, $2::bigint, 1, $2::bigint + $4::bigint)
					 ON CONFLICT (key) DO UPDATE SET
						window_start = CASE WHEN $2::bigint - r.window_start >= $3::bigint THEN $2::bigint ELSE r.window_start END,
						count = CASE WHEN $2::bigint - r.window_start >= $3::bigint THEN 1 ELSE r.count + 1 END,
						forget_at = greatest(r.forget_at, $2::bigint + $4::bigint)
					 RETURNING count, window_start`,
					values: [key, now, window, MAX_BLOCK_MS]
				})
			).rows[0];
			if (count <= limit.count) return { ok: true };
			return refuse(window_start + window, now, count === limit.count + 1);
		},
		async blocked(key: string, now: number): Promise<Verdict> {
			const row = (
				await run<{ blocked_until: number }>(pool, {
					name: 'rateLimitBlocked',
					text: `SELECT blocked_until FROM rate_limits WHERE key = $1 AND blocked_until > $2`,
					values: [key, now]
				})
			).rows[0];
			return row ? refuse(row.blocked_until, now, false) : { ok: true };
		},
		async fail(key: string, limit: Limit, now: number): Promise<Verdict> {
			const window = limit.windowSeconds * 1000;
			// expired: the window is over; base: the strikes after forgiving one for a quiet window
			// after a block; next: this failure's count; at the limit the key is blocked for
			// window · 2^base (at most MAX_BLOCK_MS) and the count starts again.
			const expired = `($2::bigint - r.window_start >= $3::bigint)`;
			const base = `least(${MAX_STRIKES}, CASE WHEN ${expired} AND r.strikes > 0 AND r.blocked_until + $3::bigint <= $2::bigint THEN r.strikes - 1 ELSE r.strikes END)`;
			const next = `(CASE WHEN ${expired} THEN 1 ELSE r.count + 1 END)`;
			const reached = `(${next} >= $4::integer)`;
			const row = (
				await run<{ blocked_until: number; just_blocked: boolean }>(pool, {
					name: 'rateLimitFail',
					text: `INSERT INTO rate_limits AS r (key, window_start, count, blocked_until, strikes, forget_at)
					 VALUES ($1, $2::bigint, CASE WHEN 1 >= $4::integer THEN 0 ELSE 1 END, CASE WHEN 1 >= $4::integer THEN $2::bigint + $3::bigint ELSE 0 END,
						CASE WHEN 1 >= $4::integer THEN 1 ELSE 0 END, $2::bigint + $5::bigint + $3::bigint)
					 ON CONFLICT (key) DO UPDATE SET
						count = CASE WHEN ${reached} THEN 0 ELSE ${next} END,
						window_start = CASE WHEN ${reached} OR ${expired} THEN $2::bigint ELSE r.window_start END,
						strikes = CASE WHEN ${reached} THEN least(${MAX_STRIKES}, ${base} + 1) ELSE ${base} END,
						blocked_until = CASE WHEN ${reached} THEN $2::bigint + least($5::bigint, $3::bigint * power(2, ${base})::bigint) ELSE r.blocked_until END,
						forget_at = greatest(r.forget_at, $2::bigint + $5::bigint + least($5::bigint, $3::bigint * power(2, ${base})::bigint))
					 RETURNING blocked_until, (count = 0 AND window_start = $2::bigint AND blocked_until > $2::bigint) AS just_blocked`,
					values: [key, now, window, limit.count, MAX_BLOCK_MS]
				})
			).rows[0];
			return row.just_blocked ? refuse(row.blocked_until, now, true) : { ok: true };
		},
		async prune(now: number): Promise<void> {
			await run(pool, {
				name: 'rateLimitPrune',
				// Everything over, in one statement by the forget_at index: a flood of addresses is gone by the next sweep.
				text: `DELETE FROM rate_limits WHERE forget_at <= $1`,
				values: [now]
			});
		}
	};
}

/**
 * Applies the numbered migrations not yet recorded, in one transaction under an advisory
 * lock: instances started together on an empty database take turns, and each sees what
 * the one before it applied.
 */
async function migrate(pool: pg.Pool): Promise<void> {
	const client = await pool.connect();
	try {
		await client.query('BEGIN');
		await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
		await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`);
		const applied = new Set((await client.query<{ name: string }>(`SELECT name FROM schema_migrations`)).rows.map((row) => row.name));
		for (const [name, sql] of MIGRATIONS) {
			if (applied.has(name)) continue;
			await client.query(sql);
			await client.query(`INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, [name, Date.now()]);
		}
		await client.query('COMMIT');
	} catch (error) {
		await client.query('ROLLBACK').catch(() => {});
		throw error;
	} finally {
		client.release();
	}
}
