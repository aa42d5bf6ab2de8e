import type { AccessTokenRow, AdminGrantRow, GrantRow, NewGrant, NewTokenPair, Store, TokenStateRow } from '../store';
import type { Connection } from './connection';
import { written, type GrantWrites } from './shared';

/** Grants and their tokens: personal tokens, refresh rotation, lookups, use and revocation. */
export function grants(db: Connection, { insertGrant, insertToken, insertTokenPair }: GrantWrites) {
	const personal = db.transaction((grant: NewGrant, tokenHash: Buffer) => {
		const id = insertGrant({ ...grant, authTime: null });
		insertToken({ tokenHash, grantId: id, kind: 'access', createdAt: grant.createdAt, expiresAt: grant.expiresAt ?? grant.createdAt, dpopJkt: null });
		return id;
	});
	const createPersonalGrant: Store['createPersonalGrant'] = async (grant, tokenHash) => personal(grant, tokenHash);

	const tokenState = db.prepare<[Buffer], TokenStateRow>(
		`SELECT t.grant_id, t.kind, t.dpop_jkt, t.created_at, t.expires_at, t.retired_at, g.client_id, g.scope, g.revoked_at, u.sub, u.name, u.email,
			g.auth_time, a.sub AS approved_by_sub
		 FROM tokens t JOIN grants g ON g.id = t.grant_id JOIN users u ON u.id = g.owner_id LEFT JOIN users a ON a.id = g.approved_by
		 WHERE t.token_hash = ?`
	);
	const findTokenState: Store['findTokenState'] = async (tokenHash) => tokenState.get(tokenHash);

	const grantRevoke = db.prepare<[number, number]>(`UPDATE grants SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`);
	const revokeGrant: Store['revokeGrant'] = async (grantId, now) => void grantRevoke.run(now, grantId);

	// RFC 9700 §4.14.2: a refresh token works once. Retiring it is the whole decision,
	// so of two concurrent refreshes with the same token only one can win.
	const refreshRetire = db.prepare<[{ tokenHash: Buffer; clientId: string; now: number }], { grant_id: number }>(
		`UPDATE tokens SET retired_at = :now
		 WHERE token_hash = :tokenHash AND kind = 'refresh' AND retired_at IS NULL AND expires_at > :now
			AND grant_id IN (SELECT id FROM grants WHERE client_id = :clientId AND revoked_at IS NULL)
		 RETURNING grant_id`
	);
	const grantScope = db.prepare<[number], { scope: string }>(`SELECT scope FROM grants WHERE id = ?`);
	const rotate = db.transaction((tokenHash: Buffer, clientId: string, next: NewTokenPair, now: number) => {
		const retired = written(refreshRetire.all({ tokenHash, clientId, now }));
		if (retired) {
			insertTokenPair(retired.grant_id, next, now);
			return { outcome: 'rotated' as const, grantId: retired.grant_id, scope: grantScope.get(retired.grant_id)?.scope ?? '' };
		}
		const state = tokenState.get(tokenHash);
		if (state && state.kind === 'refresh' && state.client_id === clientId && state.retired_at !== null && state.revoked_at === null) {
			grantRevoke.run(now, state.grant_id);
			return { outcome: 'reused' as const, grantId: state.grant_id, sub: state.sub };
		}
		return { outcome: 'refused' as const };
	});
	const rotateRefreshToken: Store['rotateRefreshToken'] = async (tokenHash, clientId, next, now) => rotate(tokenHash, clientId, next, now);

	const activeAccessToken = db.prepare<[Buffer, number], AccessTokenRow>(
		`SELECT t.grant_id, t.dpop_jkt, t.expires_at, g.scope, g.client_id, u.sub, u.provider, u.name, u.email, a.sub AS approved_by_sub
		 FROM tokens t JOIN grants g ON g.id = t.grant_id JOIN users u ON u.id = g.owner_id LEFT JOIN users a ON a.id = g.approved_by
		 WHERE t.token_hash = ? AND t.kind = 'access' AND t.retired_at IS NULL AND t.expires_at > ?
			AND g.revoked_at IS NULL`
	);
	const findActiveAccessToken: Store['findActiveAccessToken'] = async (tokenHash, now) => activeAccessToken.get(tokenHash, now);

	const accessRetire = db.prepare<[number, Buffer]>(`UPDATE tokens SET retired_at = coalesce(retired_at, ?) WHERE token_hash = ? AND kind = 'access'`);
	const retireAccessToken: Store['retireAccessToken'] = async (tokenHash, now) => void accessRetire.run(now, tokenHash);

	const grantTouch = db.prepare<[number, string | null, number]>(`UPDATE grants SET last_used_at = ?, last_used_ip = ? WHERE id = ?`);
	const touchGrant: Store['touchGrant'] = async (grantId, now, ip) => void grantTouch.run(now, ip, grantId);

	const ownGrantRevoke = db.prepare<[number, number, number], { id: number }>(
		`UPDATE grants SET revoked_at = ? WHERE id = ? AND owner_id = ? AND revoked_at IS NULL RETURNING id`
	);
	const revokeOwnGrant: Store['revokeOwnGrant'] = async (grantId, ownerId, now) => written(ownGrantRevoke.all(now, grantId, ownerId)) !== undefined;

	const anyGrantRevoke = db.prepare<[number, number], { id: number; client_id: string; owner_id: number }>(
		`UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING id, client_id, owner_id`
	);
	const revokeAnyGrant: Store['revokeAnyGrant'] = async (grantId, now) => written(anyGrantRevoke.all(now, grantId));

	const activeGrants = db.prepare<[number, string, number], GrantRow>(
		`SELECT g.id, g.kind, g.client_id, c.name AS client_name, g.scope, g.label, g.created_at, g.expires_at,
			g.requester_ip, g.pickup_ip, g.last_used_at, g.last_used_ip, a.sub AS approved_by_sub
		 FROM grants g LEFT JOIN clients c ON c.id = g.client_id LEFT JOIN users a ON a.id = g.approved_by
		 WHERE g.owner_id = ? AND g.kind = ? AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > ?)
		 ORDER BY g.created_at DESC`
	);
	const listActiveGrants: Store['listActiveGrants'] = async (ownerId, kind, now) => activeGrants.all(ownerId, kind, now);

	const everyonesGrants = db.prepare<[{ now: number; filter: string; limit: number }], AdminGrantRow>(
		`SELECT g.id, g.kind, g.client_id, c.name AS client_name, g.scope, g.label, g.created_at, g.expires_at,
			g.requester_ip, g.pickup_ip, g.last_used_at, g.last_used_ip, a.sub AS approved_by_sub,
			o.sub AS owner_sub, o.name AS owner_name
		 FROM grants g JOIN users o ON o.id = g.owner_id LEFT JOIN clients c ON c.id = g.client_id
			LEFT JOIN users a ON a.id = g.approved_by
		 WHERE g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > :now)
			AND (:filter = '' OR instr(lower(o.sub), :filter) OR instr(lower(coalesce(o.name, '')), :filter)
				OR instr(lower(coalesce(o.email, '')), :filter) OR instr(lower(coalesce(g.label, '')), :filter))
		 ORDER BY g.created_at DESC LIMIT :limit`
	);
	const listAllActiveGrants: Store['listAllActiveGrants'] = async (now, filter, limit) => everyonesGrants.all({ now, filter, limit });

	return {
		createPersonalGrant,
		rotateRefreshToken,
		findTokenState,
		findActiveAccessToken,
		retireAccessToken,
		touchGrant,
		revokeGrant,
		revokeOwnGrant,
		revokeAnyGrant,
		listActiveGrants,
		listAllActiveGrants
	};
}
