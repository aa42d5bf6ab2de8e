import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Client } from '../../core/clients';
import { orderMigrations } from '../migrations';
import { PollClock } from './poll-clock';
import { decidePoll } from '../poll-rule';
import { ERASED_PRIVATE_KEY } from '../store';
import type {
	AccessTokenRow,
	AdminGrantRow,
	AuditRow,
	DeviceAuthorizationRow,
	GrantRow,
	NewDeviceAuthorization,
	NewGrant,
	NewTokenPair,
	PickupRow,
	PolledAuthorizationRow,
	SessionRow,
	SigningKeyRow,
	Store,
	TokenStateRow,
	UncollectedApprovalRow,
	UserRow
} from '../store';

/**
 * The SQLite engine of the store contract (store.ts): one process on one file, with
 * better-sqlite3. Every statement is prepared once; work that needs several statements
 * runs them in one transaction here, never calling back into domain code.
 */

/** Read and ordered once, at start-up. */
const MIGRATIONS = orderMigrations(import.meta.glob<string>('./migrations/*.sql', { query: '?raw', import: 'default', eager: true }));

const DEVICE_COLUMNS = `id, user_code, client_id, scope, status, created_at, expires_at, interval_seconds,
	requester_ip, requester_user_agent, entered_at, decided_at, denial_reason, owner_id, approved_by, granted_scope, label, grant_id`;

/** What a poll reads of its device authorization. */
type PollStateRow = Pick<
	DeviceAuthorizationRow,
	'id' | 'status' | 'created_at' | 'expires_at' | 'interval_seconds' | 'entered_at' | 'denial_reason' | 'grant_id'
>;

/**
 * The row of a write with RETURNING. Such writes are read with .all(), never .get():
 * .get() resets the statement after its first row, before SQLite steps it to the end,
 * and only a statement stepped to its end runs the WAL auto-checkpoint, so a load of such
 * writes would grow the WAL without bound.
 */
function written<T>(rows: T[]): T | undefined {
	return rows[0];
}

export function openSqliteStore(path: string): Store {
	if (path !== ':memory:') keepToOwner(path);
	const db = new Database(path);
	// First, so that a second process opening the same new file waits instead of failing.
	db.pragma('busy_timeout = 5000');
	db.pragma('journal_mode = WAL');
	// WAL + NORMAL: a crash loses no committed transaction; only a power loss may drop the last ones.
	db.pragma('synchronous = NORMAL');
	db.pragma('foreign_keys = ON');
	migrate(db);

	const statements = {
		upsertUser: db.prepare<[{ sub: string; provider: string; name: string | null; email: string | null; now: number }], UserRow>(
			`INSERT INTO users (sub, provider, name, email, created_at, updated_at)
			 VALUES (:sub, :provider, :name, :email, :now, :now)
			 ON CONFLICT (sub) DO UPDATE SET
				name = coalesce(excluded.name, users.name),
				email = coalesce(excluded.email, users.email),
				updated_at = excluded.updated_at
			 RETURNING id, sub, provider, name, email`
		),
		insertSession: db.prepare<[Buffer, number, number, number]>(`INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`),
		findSession: db.prepare<[Buffer], SessionRow>(
			`SELECT s.user_id, s.expires_at, u.sub, u.provider, u.name, u.email
			 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`
		),
		extendSession: db.prepare<[number, Buffer]>(`UPDATE sessions SET expires_at = ? WHERE token_hash = ?`),
		deleteSession: db.prepare<[Buffer]>(`DELETE FROM sessions WHERE token_hash = ?`),
		deleteClients: db.prepare(`DELETE FROM clients`),
		insertClient: db.prepare<[string, string, string, string]>(`INSERT INTO clients (id, name, type, scopes) VALUES (?, ?, ?, ?)`),
		insertDeviceAuthorization: db.prepare<[NewDeviceAuthorization]>(
			`INSERT INTO device_authorizations
				(device_code_hash, user_code, client_id, scope, created_at, expires_at, interval_seconds, requester_ip, requester_user_agent)
			 VALUES (:deviceCodeHash, :userCode, :clientId, :scope, :createdAt, :expiresAt, :intervalSeconds, :requesterIp, :requesterUserAgent)`
		),
		findLiveDeviceAuthorization: db.prepare<[string, number], DeviceAuthorizationRow>(
			`SELECT ${DEVICE_COLUMNS} FROM device_authorizations
			 WHERE user_code = ? AND status = 'pending' AND expires_at > ?`
		),
		markDeviceAuthorizationEntered: db.prepare<[number, string, number], DeviceAuthorizationRow>(
			`UPDATE device_authorizations SET entered_at = coalesce(entered_at, ?)
			 WHERE user_code = ? AND status = 'pending' AND expires_at > ?
			 RETURNING ${DEVICE_COLUMNS}`
		),
		// A decision by a person at /device/confirm names them as :claimant: only the one who
		// claimed the code may decide it. Admins and provider refusals pass no claimant.
		approveDeviceAuthorization: db.prepare<
			[{ userCode: string; ownerId: number; approvedBy: number | null; grantedScope: string; label: string | null; claimant: number | null; now: number }],
			DeviceAuthorizationRow
		>(
			`UPDATE device_authorizations
			 SET status = 'approved', owner_id = :ownerId, approved_by = :approvedBy, granted_scope = :grantedScope,
				label = :label, decided_at = :now
			 WHERE user_code = :userCode AND status = 'pending' AND expires_at > :now
				AND (:claimant IS NULL OR confirming_user_id IS NULL OR confirming_user_id = :claimant)
			 RETURNING ${DEVICE_COLUMNS}`
		),
		denyDeviceAuthorization: db.prepare<
			[{ userCode: string; reason: string; deniedBy: number | null; claimant: number | null; now: number }],
			DeviceAuthorizationRow
		>(
			`UPDATE device_authorizations
			 SET status = 'denied', denial_reason = :reason, approved_by = :deniedBy, decided_at = :now
			 WHERE user_code = :userCode AND status = 'pending' AND expires_at > :now
				AND (:claimant IS NULL OR confirming_user_id IS NULL OR confirming_user_id = :claimant)
			 RETURNING ${DEVICE_COLUMNS}`
		),
		claimDeviceAuthorization: db.prepare<[{ userCode: string; userId: number; now: number }], DeviceAuthorizationRow>(
			`UPDATE device_authorizations SET confirming_user_id = :userId
			 WHERE user_code = :userCode AND status = 'pending' AND expires_at > :now
				AND (confirming_user_id IS NULL OR confirming_user_id = :userId)
			 RETURNING ${DEVICE_COLUMNS}`
		),
		insertDeviceEntry: db.prepare<[Buffer, number, number]>(`INSERT INTO device_entries (handle_hash, authorization_id, created_at) VALUES (?, ?, ?)`),
		findEnteredUserCode: db.prepare<[Buffer], { user_code: string }>(
			`SELECT d.user_code FROM device_entries e JOIN device_authorizations d ON d.id = e.authorization_id WHERE e.handle_hash = ?`
		),
		listUncollectedApprovals: db.prepare<[{ ownerId: number | null; now: number }], UncollectedApprovalRow>(
			`SELECT d.id, d.user_code, d.client_id, c.name AS client_name, d.granted_scope, d.label, d.decided_at, d.requester_ip,
				o.sub AS owner_sub, o.name AS owner_name
			 FROM device_authorizations d JOIN users o ON o.id = d.owner_id LEFT JOIN clients c ON c.id = d.client_id
			 WHERE d.status = 'approved' AND d.expires_at > :now AND (:ownerId IS NULL OR d.owner_id = :ownerId)
			 ORDER BY d.decided_at DESC LIMIT 200`
		),
		// approved → denied before the CLI collected its tokens: its next poll answers access_denied.
		revokeUncollectedApproval: db.prepare<[{ id: number; ownerId: number | null; now: number }], { user_code: string; client_id: string }>(
			`UPDATE device_authorizations SET status = 'denied', denial_reason = 'revoked', decided_at = :now
			 WHERE id = :id AND status = 'approved' AND (:ownerId IS NULL OR owner_id = :ownerId)
			 RETURNING user_code, client_id`
		),
		blockAddress: db.prepare<[string, number, string]>(
			`INSERT INTO blocked_addresses (ip, until, reason) VALUES (?, ?, ?)
			 ON CONFLICT (ip) DO UPDATE SET until = max(until, excluded.until), reason = excluded.reason`
		),
		findAddressBlock: db.prepare<[string, number], { until: number }>(`SELECT until FROM blocked_addresses WHERE ip = ? AND until > ?`),
		deleteExpiredBlocks: db.prepare<[number, number]>(`DELETE FROM blocked_addresses WHERE ip IN (SELECT ip FROM blocked_addresses WHERE until <= ? LIMIT ?)`),
		// What a poll decides on (poll-rule.ts); the clock is in memory (poll-clock.ts).
		findPollState: db.prepare<[Buffer, string], PollStateRow>(
			`SELECT id, status, created_at, expires_at, interval_seconds, entered_at, denial_reason, grant_id
			 FROM device_authorizations WHERE device_code_hash = ? AND client_id = ?`
		),
		// Only a slow_down writes: the longer interval outlives the process.
		setPollInterval: db.prepare<[number, number]>(`UPDATE device_authorizations SET interval_seconds = ? WHERE id = ?`),
		// approved → consumed: of any number of concurrent polls exactly one gets the tokens.
		consumeApprovedAuthorization: db.prepare<[number], DeviceAuthorizationRow>(
			`UPDATE device_authorizations SET status = 'consumed' WHERE id = ? AND status = 'approved' RETURNING ${DEVICE_COLUMNS}`
		),
		attachGrant: db.prepare<[number, number]>(`UPDATE device_authorizations SET grant_id = ? WHERE id = ?`),
		insertGrant: db.prepare<[NewGrant & { authTime: number | null }], { id: number }>(
			`INSERT INTO grants (kind, owner_id, client_id, scope, label, approved_by, created_at, requester_ip, pickup_ip, expires_at, auth_time)
			 VALUES (:kind, :ownerId, :clientId, :scope, :label, :approvedBy, :createdAt, :requesterIp, :pickupIp, :expiresAt, :authTime)
			 RETURNING id`
		),
		findApprovedIssuance: db.prepare<
			[number],
			{ sub: string; name: string | null; email: string | null; scope: string; auth_time: number; actor: string | null }
		>(
			`SELECT u.sub, u.name, u.email, coalesce(d.granted_scope, d.scope) AS scope, d.decided_at AS auth_time, a.sub AS actor
			 FROM device_authorizations d JOIN users u ON u.id = d.owner_id LEFT JOIN users a ON a.id = d.approved_by
			 WHERE d.id = ? AND d.status = 'approved'`
		),
		listSigningKeys: db.prepare<[number], SigningKeyRow>(`SELECT * FROM signing_keys WHERE expires_at > ? ORDER BY activates_at`),
		addSigningKey: db.prepare<[SigningKeyRow]>(
			`INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk, created_at, activates_at, retires_at, expires_at)
			 SELECT :kid, :alg, :public_jwk, :private_jwk, :created_at, :activates_at, :retires_at, :expires_at
			 WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE retires_at > :activates_at)`
		),
		sealSigningKey: db.prepare<[string, string, string]>(`UPDATE signing_keys SET private_jwk = ? WHERE kid = ? AND private_jwk = ?`),
		eraseRetiredPrivateKeys: db.prepare<[string, number, string]>(`UPDATE signing_keys SET private_jwk = ? WHERE retires_at <= ? AND private_jwk <> ?`),
		deleteExpiredSigningKeys: db.prepare<[number]>(`DELETE FROM signing_keys WHERE expires_at <= ?`),
		revokeOwnGrant: db.prepare<[number, number, number], { id: number }>(
			`UPDATE grants SET revoked_at = ? WHERE id = ? AND owner_id = ? AND revoked_at IS NULL RETURNING id`
		),
		listActiveGrants: db.prepare<[number, string, number], GrantRow>(
			`SELECT g.id, g.kind, g.client_id, c.name AS client_name, g.scope, g.label, g.created_at, g.expires_at,
				g.requester_ip, g.pickup_ip, g.last_used_at, g.last_used_ip, a.sub AS approved_by_sub
			 FROM grants g LEFT JOIN clients c ON c.id = g.client_id LEFT JOIN users a ON a.id = g.approved_by
			 WHERE g.owner_id = ? AND g.kind = ? AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > ?)
			 ORDER BY g.created_at DESC`
		),
		// RFC 9700 §4.14.2: a refresh token works once. Retiring it is the whole decision,
		// so of two concurrent refreshes with the same token only one can win.
		retireRefreshToken: db.prepare<[{ tokenHash: Buffer; clientId: string; now: number }], { grant_id: number }>(
			`UPDATE tokens SET retired_at = :now
			 WHERE token_hash = :tokenHash AND kind = 'refresh' AND retired_at IS NULL AND expires_at > :now
				AND grant_id IN (SELECT id FROM grants WHERE client_id = :clientId AND revoked_at IS NULL)
			 RETURNING grant_id`
		),
		findGrantScope: db.prepare<[number], { scope: string }>(`SELECT scope FROM grants WHERE id = ?`),
		findUserSubById: db.prepare<[number], { sub: string }>(`SELECT sub FROM users WHERE id = ?`),
		findTokenState: db.prepare<[Buffer], TokenStateRow>(
			`SELECT t.grant_id, t.kind, t.created_at, t.expires_at, t.retired_at, g.client_id, g.scope, g.revoked_at, u.sub, u.name, u.email, g.auth_time,
				a.sub AS approved_by_sub
			 FROM tokens t JOIN grants g ON g.id = t.grant_id JOIN users u ON u.id = g.owner_id LEFT JOIN users a ON a.id = g.approved_by
			 WHERE t.token_hash = ?`
		),
		retireAccessToken: db.prepare<[number, Buffer]>(`UPDATE tokens SET retired_at = coalesce(retired_at, ?) WHERE token_hash = ? AND kind = 'access'`),
		findPickup: db.prepare<[string, number], PickupRow>(
			`SELECT d.status, d.requester_ip, d.client_id, g.created_at AS picked_up_at, g.pickup_ip
			 FROM device_authorizations d LEFT JOIN grants g ON g.id = d.grant_id
			 WHERE d.user_code = ? AND d.owner_id = ?`
		),
		findCollectedGrant: db.prepare<[{ id: number; ownerId: number | null }], { grant_id: number }>(
			`SELECT d.grant_id FROM device_authorizations d JOIN grants g ON g.id = d.grant_id
			 WHERE d.id = :id AND d.status = 'consumed' AND (:ownerId IS NULL OR d.owner_id = :ownerId) AND g.revoked_at IS NULL`
		),
		revokeGrant: db.prepare<[number, number]>(`UPDATE grants SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`),
		touchGrant: db.prepare<[number, string | null, number]>(`UPDATE grants SET last_used_at = ?, last_used_ip = ? WHERE id = ?`),
		insertToken: db.prepare<[Buffer, number, string, number, number]>(
			`INSERT INTO tokens (token_hash, grant_id, kind, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`
		),
		findActiveAccessToken: db.prepare<[Buffer, number], AccessTokenRow>(
			`SELECT t.grant_id, t.expires_at, g.scope, g.client_id, u.sub, u.provider, u.name, u.email, a.sub AS approved_by_sub
			 FROM tokens t JOIN grants g ON g.id = t.grant_id JOIN users u ON u.id = g.owner_id LEFT JOIN users a ON a.id = g.approved_by
			 WHERE t.token_hash = ? AND t.kind = 'access' AND t.retired_at IS NULL AND t.expires_at > ?
				AND g.revoked_at IS NULL`
		),
		findUserBySub: db.prepare<[string], UserRow>(`SELECT id, sub, provider, name, email FROM users WHERE sub = ?`),
		listPendingAuthorizations: db.prepare<[number, number], DeviceAuthorizationRow>(
			`SELECT ${DEVICE_COLUMNS} FROM device_authorizations
			 WHERE status = 'pending' AND expires_at > ? ORDER BY id DESC LIMIT ?`
		),
		listAllActiveGrants: db.prepare<[{ now: number; filter: string; limit: number }], AdminGrantRow>(
			`SELECT g.id, g.kind, g.client_id, c.name AS client_name, g.scope, g.label, g.created_at, g.expires_at,
				g.requester_ip, g.pickup_ip, g.last_used_at, g.last_used_ip, a.sub AS approved_by_sub,
				o.sub AS owner_sub, o.name AS owner_name
			 FROM grants g JOIN users o ON o.id = g.owner_id LEFT JOIN clients c ON c.id = g.client_id
				LEFT JOIN users a ON a.id = g.approved_by
			 WHERE g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > :now)
				AND (:filter = '' OR instr(lower(o.sub), :filter) OR instr(lower(coalesce(o.name, '')), :filter)
					OR instr(lower(coalesce(o.email, '')), :filter) OR instr(lower(coalesce(g.label, '')), :filter))
			 ORDER BY g.created_at DESC LIMIT :limit`
		),
		revokeAnyGrant: db.prepare<[number, number], { id: number; client_id: string; owner_id: number }>(
			`UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING id, client_id, owner_id`
		),
		insertAudit: db.prepare<
			[
				{
					at: number;
					actor: string | null;
					action: string;
					userCode: string | null;
					clientId: string | null;
					subject: string | null;
					ip: string | null;
					detail: string | null;
				}
			]
		>(
			`INSERT INTO audit_log (at, actor, action, user_code, client_id, subject, ip, detail)
			 VALUES (:at, :actor, :action, :userCode, :clientId, :subject, :ip, :detail)`
		),
		listAudit: db.prepare<[number, number], AuditRow>(`SELECT * FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?`),
		// The expired among the oldest :limit rows. Codes are created in id order with one TTL, so
		// the expired ones are at the start of the table; no index on expires_at is needed.
		deleteExpiredDeviceAuthorizations: db.prepare<[number, number]>(
			`DELETE FROM device_authorizations WHERE id IN
				(SELECT id FROM (SELECT id, expires_at FROM device_authorizations ORDER BY id LIMIT ?) WHERE expires_at <= ?)`
		),
		deleteExpiredTokens: db.prepare<[number, number]>(`DELETE FROM tokens WHERE token_hash IN (SELECT token_hash FROM tokens WHERE expires_at <= ? LIMIT ?)`),
		deleteExpiredSessions: db.prepare<[number, number]>(
			`DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions WHERE expires_at <= ? LIMIT ?)`
		)
	};

	/** When the last address block still in the table ends (this process is the only writer). */
	let lastBlockEnds = db.prepare<[], { until: number | null }>(`SELECT max(until) AS until FROM blocked_addresses`).get()?.until ?? 0;

	const pollClock = new PollClock();

	/** decidePoll on the row and this process's clock: a waiting poll reads and writes nothing else. */
	const pollDeviceAuthorization = (deviceCodeHash: Buffer, clientId: string, now: number): PolledAuthorizationRow | undefined => {
		const row = statements.findPollState.get(deviceCodeHash, clientId);
		if (!row) return undefined;
		const decision = decidePoll(
			{
				status: row.status,
				expiresAt: row.expires_at,
				intervalSeconds: row.interval_seconds,
				lastPolledAt: pollClock.lastPolledAt(row.id, row.interval_seconds, row.created_at)
			},
			now
		);
		if (decision.intervalSeconds !== row.interval_seconds) statements.setPollInterval.run(decision.intervalSeconds, row.id);
		pollClock.record(row.id, decision.lastPolledAt, decision.intervalSeconds, now);
		return {
			id: row.id,
			last_poll_outcome: decision.outcome,
			last_polled_at: decision.lastPolledAt,
			interval_seconds: decision.intervalSeconds,
			entered_at: row.entered_at,
			denial_reason: row.denial_reason,
			grant_id: row.grant_id
		};
	};

	const insertTokenPair = (grantId: number, tokens: NewTokenPair, now: number) => {
		statements.insertToken.run(tokens.accessTokenHash, grantId, 'access', now, tokens.accessExpiresAt);
		statements.insertToken.run(tokens.refreshTokenHash, grantId, 'refresh', now, tokens.refreshExpiresAt);
	};

	const replaceClients = db.transaction((clients: Client[]) => {
		statements.deleteClients.run();
		for (const c of clients) statements.insertClient.run(c.id, c.name, c.type, c.scopes.join(' '));
	});

	const recordCodeEntry = db.transaction((userCode: string, handleHash: Buffer, now: number) => {
		const authorization = written(statements.markDeviceAuthorizationEntered.all(now, userCode, now));
		if (authorization) statements.insertDeviceEntry.run(handleHash, authorization.id, now);
		return authorization;
	});

	const redeemApprovedAuthorization = db.transaction((authorizationId: number, tokens: NewTokenPair, pickupIp: string | null, now: number) => {
		const authorization = written(statements.consumeApprovedAuthorization.all(authorizationId));
		if (!authorization || authorization.owner_id === null) return undefined;
		const scope = authorization.granted_scope ?? authorization.scope;
		const { id: grantId } = written(
			statements.insertGrant.all({
				kind: 'device',
				ownerId: authorization.owner_id,
				clientId: authorization.client_id,
				scope,
				label: authorization.label,
				approvedBy: authorization.approved_by,
				createdAt: now,
				requesterIp: authorization.requester_ip,
				pickupIp,
				expiresAt: null,
				authTime: authorization.decided_at
			})
		) as { id: number };
		statements.attachGrant.run(grantId, authorization.id);
		insertTokenPair(grantId, tokens, now);
		const ownerSub = (statements.findUserSubById.get(authorization.owner_id) as { sub: string }).sub;
		const approverSub = authorization.approved_by === null ? null : (statements.findUserSubById.get(authorization.approved_by)?.sub ?? null);
		return { grantId, scope, ownerSub, approverSub };
	});

	const createPersonalGrant = db.transaction((grant: NewGrant, tokenHash: Buffer) => {
		const { id } = written(statements.insertGrant.all({ ...grant, authTime: null })) as { id: number };
		statements.insertToken.run(tokenHash, id, 'access', grant.createdAt, grant.expiresAt ?? grant.createdAt);
		return id;
	});

	const rotateRefreshToken = db.transaction((tokenHash: Buffer, clientId: string, next: NewTokenPair, now: number) => {
		const retired = written(statements.retireRefreshToken.all({ tokenHash, clientId, now }));
		if (retired) {
			insertTokenPair(retired.grant_id, next, now);
			return { outcome: 'rotated' as const, grantId: retired.grant_id, scope: statements.findGrantScope.get(retired.grant_id)?.scope ?? '' };
		}
		const state = statements.findTokenState.get(tokenHash);
		if (state && state.kind === 'refresh' && state.client_id === clientId && state.retired_at !== null && state.revoked_at === null) {
			statements.revokeGrant.run(now, state.grant_id);
			return { outcome: 'reused' as const, grantId: state.grant_id, sub: state.sub };
		}
		return { outcome: 'refused' as const };
	});

	return {
		close: async () => void db.close(),
		// One process on this machine: the database's clock is this one.
		databaseTime: async () => Date.now(),
		schemaIsCurrent: async () => {
			const applied = new Set(
				db
					.prepare<[], { name: string }>(`SELECT name FROM schema_migrations`)
					.all()
					.map((row) => row.name)
			);
			return MIGRATIONS.every(([name]) => applied.has(name));
		},

		upsertUser: async (user, now) => written(statements.upsertUser.all({ ...user, now })) as UserRow,
		findUserBySub: async (sub) => statements.findUserBySub.get(sub),
		insertSession: async (tokenHash, userId, now, expiresAt) => void statements.insertSession.run(tokenHash, userId, now, expiresAt),
		findSession: async (tokenHash) => statements.findSession.get(tokenHash),
		extendSession: async (tokenHash, expiresAt) => void statements.extendSession.run(expiresAt, tokenHash),
		deleteSession: async (tokenHash) => void statements.deleteSession.run(tokenHash),

		replaceClients: async (clients) => replaceClients(clients),

		insertDeviceAuthorization: async (row) => {
			// With no block in force (nearly always) no query is needed.
			const block = row.requesterNetwork && row.createdAt < lastBlockEnds ? statements.findAddressBlock.get(row.requesterNetwork, row.createdAt) : undefined;
			if (block) return { blockedUntil: block.until };
			try {
				statements.insertDeviceAuthorization.run(row);
				return 'inserted';
			} catch (error) {
				if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return 'user_code_taken';
				throw error;
			}
		},
		findLiveDeviceAuthorization: async (userCode, now) => statements.findLiveDeviceAuthorization.get(userCode, now),
		recordCodeEntry: async (userCode, handleHash, now) => recordCodeEntry(userCode, handleHash, now),
		findEnteredUserCode: async (handleHash) => statements.findEnteredUserCode.get(handleHash)?.user_code,
		claimDeviceAuthorization: async (userCode, userId, now) => written(statements.claimDeviceAuthorization.all({ userCode, userId, now })),
		approveDeviceAuthorization: async (approval) => written(statements.approveDeviceAuthorization.all(approval)),
		denyDeviceAuthorization: async (denial) => written(statements.denyDeviceAuthorization.all(denial)),
		pollDeviceAuthorization: async (deviceCodeHash, clientId, now) => pollDeviceAuthorization(deviceCodeHash, clientId, now),
		redeemApprovedAuthorization: async (authorizationId, tokens, pickupIp, now) => redeemApprovedAuthorization(authorizationId, tokens, pickupIp, now),
		findApprovedIssuance: async (authorizationId) => {
			const row = statements.findApprovedIssuance.get(authorizationId);
			return row && { sub: row.sub, name: row.name, email: row.email, scope: row.scope, authTime: row.auth_time, actor: row.actor };
		},
		listPendingAuthorizations: async (now, limit) => statements.listPendingAuthorizations.all(now, limit),
		listUncollectedApprovals: async (ownerId, now) => statements.listUncollectedApprovals.all({ ownerId, now }),
		revokeUncollectedApproval: async (id, ownerId, now) => written(statements.revokeUncollectedApproval.all({ id, ownerId, now })),
		findPickup: async (userCode, ownerId) => statements.findPickup.get(userCode, ownerId),
		findCollectedGrant: async (id, ownerId) => statements.findCollectedGrant.get({ id, ownerId })?.grant_id,

		blockAddress: async (ip, until, reason) => {
			statements.blockAddress.run(ip, until, reason);
			lastBlockEnds = Math.max(lastBlockEnds, until);
		},

		createPersonalGrant: async (grant, tokenHash) => createPersonalGrant(grant, tokenHash),
		rotateRefreshToken: async (tokenHash, clientId, next, now) => rotateRefreshToken(tokenHash, clientId, next, now),
		findTokenState: async (tokenHash) => statements.findTokenState.get(tokenHash),
		findActiveAccessToken: async (tokenHash, now) => statements.findActiveAccessToken.get(tokenHash, now),
		retireAccessToken: async (tokenHash, now) => void statements.retireAccessToken.run(now, tokenHash),
		touchGrant: async (grantId, now, ip) => void statements.touchGrant.run(now, ip, grantId),
		revokeGrant: async (grantId, now) => void statements.revokeGrant.run(now, grantId),
		revokeOwnGrant: async (grantId, ownerId, now) => written(statements.revokeOwnGrant.all(now, grantId, ownerId)) !== undefined,
		revokeAnyGrant: async (grantId, now) => written(statements.revokeAnyGrant.all(now, grantId)),
		listActiveGrants: async (ownerId, kind, now) => statements.listActiveGrants.all(ownerId, kind, now),
		listAllActiveGrants: async (now, filter, limit) => statements.listAllActiveGrants.all({ now, filter, limit }),

		listSigningKeys: async (now) => statements.listSigningKeys.all(now),
		addSigningKey: async (key) => statements.addSigningKey.run(key).changes === 1,
		sealSigningKey: async (kid, stored, sealed) => void statements.sealSigningKey.run(sealed, kid, stored),
		eraseRetiredPrivateKeys: async (retiredBefore) => statements.eraseRetiredPrivateKeys.run(ERASED_PRIVATE_KEY, retiredBefore, ERASED_PRIVATE_KEY).changes,
		deleteExpiredSigningKeys: async (now) => statements.deleteExpiredSigningKeys.run(now).changes,

		insertAudit: async (entry, at) =>
			void statements.insertAudit.run({
				at,
				actor: entry.actor,
				action: entry.action,
				userCode: entry.userCode ?? null,
				clientId: entry.clientId ?? null,
				subject: entry.subject ?? null,
				ip: entry.ip ?? null,
				detail: entry.detail ?? null
			}),
		listAudit: async (limit, offset) => statements.listAudit.all(limit, offset),

		deleteExpiredDeviceAuthorizations: async (now, limit) => statements.deleteExpiredDeviceAuthorizations.run(limit, now).changes,
		deleteExpiredTokens: async (now, limit) => statements.deleteExpiredTokens.run(now, limit).changes,
		deleteExpiredSessions: async (now, limit) => statements.deleteExpiredSessions.run(now, limit).changes,
		deleteExpiredBlocks: async (now, limit) => statements.deleteExpiredBlocks.run(now, limit).changes
	};
}

/**
 * The database holds the signing keys and every hash: its file is its owner's alone (0600),
 * and SQLite gives its WAL and shared-memory files the same mode as the database file.
 */
function keepToOwner(path: string): void {
	mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
	closeSync(openSync(path, 'a', 0o600));
	for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
}

/**
 * Applies the numbered migrations not yet recorded, all in one IMMEDIATE transaction
 * that reads the applied list under the write lock: processes started together on one
 * file take turns, and each sees what the one before it applied.
 */
function migrate(db: Database.Database) {
	db.transaction(() => {
		db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`);
		const applied = new Set(
			db
				.prepare<[], { name: string }>(`SELECT name FROM schema_migrations`)
				.all()
				.map((r) => r.name)
		);
		const record = db.prepare<[string, number]>(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`);
		for (const [name, sql] of MIGRATIONS) {
			if (applied.has(name)) continue;
			db.exec(sql);
			record.run(name, Date.now());
		}
	}).immediate();
}
