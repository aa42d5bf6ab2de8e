import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Client } from './clients';

/**
 * The store: every SQL statement doorcode runs lives in this file, prepared once,
 * one statement per method, so a second engine can be added behind the same names.
 */

const migrations = import.meta.glob<string>('./migrations/*.sql', { query: '?raw', import: 'default', eager: true });

export interface UserRow {
	id: number;
	sub: string;
	provider: string;
	name: string | null;
	email: string | null;
}

export interface SessionRow {
	user_id: number;
	expires_at: number;
	sub: string;
	provider: string;
	name: string | null;
	email: string | null;
}

export type DeviceStatus = 'pending' | 'approved' | 'denied' | 'consumed';

export interface DeviceAuthorizationRow {
	id: number;
	user_code: string;
	client_id: string;
	scope: string;
	status: DeviceStatus;
	created_at: number;
	expires_at: number;
	interval_seconds: number;
	requester_ip: string | null;
	requester_user_agent: string | null;
	entered_at: number | null;
	denial_reason: string | null;
	owner_id: number | null;
	approved_by: number | null;
	granted_scope: string | null;
	label: string | null;
	grant_id: number | null;
}

export type PollOutcome = 'replayed' | 'slow_down' | 'denied' | 'expired' | 'issue' | 'pending';

/** What a poll needs to answer; the rest of the row is read only when tokens are issued. */
export interface PolledAuthorizationRow {
	id: number;
	last_poll_outcome: PollOutcome;
	interval_seconds: number;
	entered_at: number | null;
	denial_reason: string | null;
	grant_id: number | null;
}

export interface NewDeviceAuthorization {
	deviceCodeHash: Buffer;
	userCode: string;
	clientId: string;
	scope: string;
	createdAt: number;
	expiresAt: number;
	intervalSeconds: number;
	requesterIp: string | null;
	requesterUserAgent: string | null;
}

export interface NewGrant {
	kind: 'device' | 'personal';
	ownerId: number;
	clientId: string;
	scope: string;
	label: string | null;
	approvedBy: number | null;
	createdAt: number;
	requesterIp: string | null;
	pickupIp: string | null;
	expiresAt: number | null;
}

export interface TokenStateRow {
	grant_id: number;
	kind: 'access' | 'refresh';
	created_at: number;
	expires_at: number;
	retired_at: number | null;
	client_id: string;
	scope: string;
	revoked_at: number | null;
	sub: string;
}

export interface GrantRow {
	id: number;
	kind: 'device' | 'personal';
	client_id: string;
	client_name: string | null;
	scope: string;
	label: string | null;
	created_at: number;
	expires_at: number | null;
	requester_ip: string | null;
	pickup_ip: string | null;
	last_used_at: number | null;
	last_used_ip: string | null;
	approved_by_sub: string | null;
}

export interface PickupRow {
	status: DeviceStatus;
	requester_ip: string | null;
	client_id: string;
	picked_up_at: number | null;
	pickup_ip: string | null;
}

export interface AccessTokenRow {
	grant_id: number;
	expires_at: number;
	scope: string;
	client_id: string;
	sub: string;
	provider: string;
	name: string | null;
	email: string | null;
	approved_by_sub: string | null;
}

export interface AuditEntry {
	actor: string | null;
	action: string;
	userCode?: string | null;
	clientId?: string | null;
	subject?: string | null;
	ip?: string | null;
	detail?: string | null;
}

export interface AuditRow {
	id: number;
	at: number;
	actor: string | null;
	action: string;
	user_code: string | null;
	client_id: string | null;
	subject: string | null;
	ip: string | null;
	detail: string | null;
}

/** An approved code whose CLI has not collected its tokens yet. */
export interface UncollectedApprovalRow {
	id: number;
	user_code: string;
	client_id: string;
	client_name: string | null;
	granted_scope: string | null;
	label: string | null;
	decided_at: number;
	requester_ip: string | null;
	owner_sub: string;
	owner_name: string | null;
}

export interface AdminGrantRow extends GrantRow {
	owner_sub: string;
	owner_name: string | null;
}

/** A poll sooner than the interval after the last poll that was answered. */
const TOO_SOON = '(last_polled_at IS NOT NULL AND :now < last_polled_at + interval_seconds * 1000)';

const DEVICE_COLUMNS = `id, user_code, client_id, scope, status, created_at, expires_at, interval_seconds,
	requester_ip, requester_user_agent, entered_at, denial_reason, owner_id, approved_by, granted_scope, label, grant_id`;

export type Store = ReturnType<typeof openStore>;

/**
 * The row of a write with RETURNING. Such writes are read with .all(), never .get():
 * .get() resets the statement after its first row, before SQLite steps it to the end,
 * and only a statement stepped to its end runs the WAL auto-checkpoint, so a poll-only
 * load would grow the WAL without bound.
 */
function written<T>(rows: T[]): T | undefined {
	return rows[0];
}

export function openStore(path: string) {
	if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
	const db = new Database(path);
	db.pragma('journal_mode = WAL');
	// WAL + NORMAL: a crash loses no committed transaction; only a power loss may drop the last ones.
	db.pragma('synchronous = NORMAL');
	db.pragma('busy_timeout = 5000');
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
		// RFC 8628 §3.5: the whole poll is one statement. Every SET expression reads the row
		// as it was, so the outcome, the interval and the clock are decided together; a poll
		// refused with slow_down leaves last_polled_at alone, so a client that backs off gets
		// through. An approved row is only *offered* here ('issue'): consumeApprovedAuthorization
		// decides which poll gets the tokens.
		pollDeviceAuthorization: db.prepare<[{ deviceCodeHash: Buffer; clientId: string; now: number }], PolledAuthorizationRow>(
			`UPDATE device_authorizations SET
				last_poll_outcome = CASE
					WHEN status = 'consumed' THEN 'replayed'
					WHEN ${TOO_SOON} THEN 'slow_down'
					WHEN status = 'denied' THEN 'denied'
					WHEN expires_at <= :now THEN 'expired'
					WHEN status = 'approved' THEN 'issue'
					ELSE 'pending'
				END,
				interval_seconds = interval_seconds + iif(status <> 'consumed' AND ${TOO_SOON}, 5, 0),
				last_polled_at = iif(status <> 'consumed' AND ${TOO_SOON}, last_polled_at, :now)
			 WHERE device_code_hash = :deviceCodeHash AND client_id = :clientId
			 RETURNING id, last_poll_outcome, interval_seconds, entered_at, denial_reason, grant_id`
		),
		// approved → consumed: of any number of concurrent polls exactly one gets the tokens.
		consumeApprovedAuthorization: db.prepare<[number], DeviceAuthorizationRow>(
			`UPDATE device_authorizations SET status = 'consumed' WHERE id = ? AND status = 'approved' RETURNING ${DEVICE_COLUMNS}`
		),
		attachGrant: db.prepare<[number, number]>(`UPDATE device_authorizations SET grant_id = ? WHERE id = ?`),
		insertGrant: db.prepare<[NewGrant], { id: number }>(
			`INSERT INTO grants (kind, owner_id, client_id, scope, label, approved_by, created_at, requester_ip, pickup_ip, expires_at)
			 VALUES (:kind, :ownerId, :clientId, :scope, :label, :approvedBy, :createdAt, :requesterIp, :pickupIp, :expiresAt)
			 RETURNING id`
		),
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
		findTokenState: db.prepare<[Buffer], TokenStateRow>(
			`SELECT t.grant_id, t.kind, t.created_at, t.expires_at, t.retired_at, g.client_id, g.scope, g.revoked_at, u.sub
			 FROM tokens t JOIN grants g ON g.id = t.grant_id JOIN users u ON u.id = g.owner_id WHERE t.token_hash = ?`
		),
		retireAccessToken: db.prepare<[number, Buffer]>(`UPDATE tokens SET retired_at = coalesce(retired_at, ?) WHERE token_hash = ? AND kind = 'access'`),
		findPickup: db.prepare<[string, number], PickupRow>(
			`SELECT d.status, d.requester_ip, d.client_id, g.created_at AS picked_up_at, g.pickup_ip
			 FROM device_authorizations d LEFT JOIN grants g ON g.id = d.grant_id
			 WHERE d.user_code = ? AND d.owner_id = ?`
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
		findUserById: db.prepare<[number], UserRow>(`SELECT id, sub, provider, name, email FROM users WHERE id = ?`),
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

	return {
		db,
		close: () => db.close(),
		/** Runs fn in one transaction: all of its writes land, or none. */
		transaction: <T>(fn: () => T): T => db.transaction(fn)(),

		upsertUser: (user: { sub: string; provider: string; name: string | null; email: string | null }, now: number) =>
			written(statements.upsertUser.all({ ...user, now })) as UserRow,

		insertSession: (tokenHash: Buffer, userId: number, now: number, expiresAt: number) => void statements.insertSession.run(tokenHash, userId, now, expiresAt),
		findSession: (tokenHash: Buffer) => statements.findSession.get(tokenHash),
		extendSession: (tokenHash: Buffer, expiresAt: number) => void statements.extendSession.run(expiresAt, tokenHash),
		deleteSession: (tokenHash: Buffer) => void statements.deleteSession.run(tokenHash),

		replaceClients: db.transaction((clients: Client[]) => {
			statements.deleteClients.run();
			for (const c of clients) statements.insertClient.run(c.id, c.name, c.type, c.scopes.join(' '));
		}),

		insertDeviceAuthorization: (row: NewDeviceAuthorization) => void statements.insertDeviceAuthorization.run(row),
		findLiveDeviceAuthorization: (userCode: string, now: number) => statements.findLiveDeviceAuthorization.get(userCode, now),
		markDeviceAuthorizationEntered: (userCode: string, now: number) => written(statements.markDeviceAuthorizationEntered.all(now, userCode, now)),
		approveDeviceAuthorization: (approval: {
			userCode: string;
			ownerId: number;
			approvedBy: number | null;
			grantedScope: string;
			label: string | null;
			claimant: number | null;
			now: number;
		}) => written(statements.approveDeviceAuthorization.all(approval)),
		denyDeviceAuthorization: (denial: { userCode: string; reason: string; deniedBy: number | null; claimant: number | null; now: number }) =>
			written(statements.denyDeviceAuthorization.all(denial)),
		claimDeviceAuthorization: (userCode: string, userId: number, now: number) => written(statements.claimDeviceAuthorization.all({ userCode, userId, now })),
		insertDeviceEntry: (handleHash: Buffer, authorizationId: number, now: number) => void statements.insertDeviceEntry.run(handleHash, authorizationId, now),
		findEnteredUserCode: (handleHash: Buffer) => statements.findEnteredUserCode.get(handleHash)?.user_code,
		/** Every owner's when ownerId is null (admins). */
		listUncollectedApprovals: (ownerId: number | null, now: number) => statements.listUncollectedApprovals.all({ ownerId, now }),
		revokeUncollectedApproval: (id: number, ownerId: number | null, now: number) => written(statements.revokeUncollectedApproval.all({ id, ownerId, now })),
		blockAddress: (ip: string, until: number, reason: string) => {
			statements.blockAddress.run(ip, until, reason);
			lastBlockEnds = Math.max(lastBlockEnds, until);
		},
		// Every new code asks; with no block in force (nearly always) no query is needed.
		findAddressBlock: (ip: string, now: number) => (now < lastBlockEnds ? statements.findAddressBlock.get(ip, now) : undefined),
		deleteExpiredBlocks: (now: number, limit: number) => statements.deleteExpiredBlocks.run(now, limit).changes,
		pollDeviceAuthorization: (deviceCodeHash: Buffer, clientId: string, now: number) =>
			written(statements.pollDeviceAuthorization.all({ deviceCodeHash, clientId, now })),
		consumeApprovedAuthorization: (authorizationId: number) => written(statements.consumeApprovedAuthorization.all(authorizationId)),
		attachGrant: (authorizationId: number, grantId: number) => void statements.attachGrant.run(grantId, authorizationId),

		insertGrant: (grant: NewGrant) => (written(statements.insertGrant.all(grant)) as { id: number }).id,
		revokeGrant: (grantId: number, now: number) => void statements.revokeGrant.run(now, grantId),
		revokeOwnGrant: (grantId: number, ownerId: number, now: number) => written(statements.revokeOwnGrant.all(now, grantId, ownerId)) !== undefined,
		listActiveGrants: (ownerId: number, kind: 'device' | 'personal', now: number) => statements.listActiveGrants.all(ownerId, kind, now),
		retireRefreshToken: (tokenHash: Buffer, clientId: string, now: number) => written(statements.retireRefreshToken.all({ tokenHash, clientId, now })),
		findTokenState: (tokenHash: Buffer) => statements.findTokenState.get(tokenHash),
		findGrantScope: (grantId: number) => statements.findGrantScope.get(grantId)?.scope,
		retireAccessToken: (tokenHash: Buffer, now: number) => void statements.retireAccessToken.run(now, tokenHash),
		findPickup: (userCode: string, ownerId: number) => statements.findPickup.get(userCode, ownerId),
		touchGrant: (grantId: number, now: number, ip: string | null) => void statements.touchGrant.run(now, ip, grantId),
		insertToken: (tokenHash: Buffer, grantId: number, kind: 'access' | 'refresh', now: number, expiresAt: number) =>
			void statements.insertToken.run(tokenHash, grantId, kind, now, expiresAt),
		findActiveAccessToken: (tokenHash: Buffer, now: number) => statements.findActiveAccessToken.get(tokenHash, now),

		findUserBySub: (sub: string) => statements.findUserBySub.get(sub),
		findUserById: (id: number) => statements.findUserById.get(id),
		listPendingAuthorizations: (now: number, limit: number) => statements.listPendingAuthorizations.all(now, limit),
		listAllActiveGrants: (now: number, filter: string, limit: number) => statements.listAllActiveGrants.all({ now, filter, limit }),
		revokeAnyGrant: (grantId: number, now: number) => written(statements.revokeAnyGrant.all(now, grantId)),
		insertAudit: (entry: AuditEntry, at: number) =>
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
		listAudit: (limit: number, offset: number) => statements.listAudit.all(limit, offset),
		deleteExpiredDeviceAuthorizations: (now: number, limit: number) => statements.deleteExpiredDeviceAuthorizations.run(limit, now).changes,
		deleteExpiredTokens: (now: number, limit: number) => statements.deleteExpiredTokens.run(now, limit).changes,
		deleteExpiredSessions: (now: number, limit: number) => statements.deleteExpiredSessions.run(now, limit).changes
	};
}

/** Applies the numbered migrations not yet recorded, each in its own transaction. */
function migrate(db: Database.Database) {
	db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`);
	const applied = new Set(
		db
			.prepare<[], { name: string }>(`SELECT name FROM schema_migrations`)
			.all()
			.map((r) => r.name)
	);
	const record = db.prepare<[string, number]>(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`);
	for (const [file, sql] of Object.entries(migrations).sort(([a], [b]) => a.localeCompare(b))) {
		const name = file.slice(file.lastIndexOf('/') + 1);
		if (applied.has(name)) continue;
		db.transaction(() => {
			db.exec(sql);
			record.run(name, Date.now());
		})();
	}
}
