import type { ActiveAccessToken, Grant, GrantWithOwner, NewGrant, NewTokenPair, RevokedGrant, Store, TokenState } from '../store';
import type { Connection } from './connection';
import { written, type GrantWrites } from './shared';

/** A grant's columns as the store contract's Grant names them (`g` the grant, `c` its client, `a` its approver). */
const GRANT_COLUMNS = `g.id, g.kind, g.client_id AS clientId, c.name AS clientName, g.scope, g.label, g.created_at AS createdAt,
	g.expires_at AS expiresAt, g.requester_ip AS requesterIp, g.pickup_ip AS pickupIp, g.last_used_at AS lastUsedAt,
	g.last_used_ip AS lastUsedIp, a.sub AS approvedBySub`;

/** Grants and their tokens: personal tokens, refresh rotation, lookups, use and revocation. */
export function grants(db: Connection, { insertGrant, insertToken, insertTokenPair }: GrantWrites) {
	const personal = db.transaction((grant: NewGrant, tokenHash: Buffer) => {
		const id = insertGrant({ ...grant, authTime: null });
		insertToken({ tokenHash, grantId: id, kind: 'access', createdAt: grant.createdAt, expiresAt: grant.expiresAt ?? grant.createdAt, dpopJkt: null });
		return id;
	});
	const createPersonalGrant: Store['createPersonalGrant'] = async (grant, tokenHash) => personal(grant, tokenHash);

	const tokenState = db.prepare<[Buffer], Omit<TokenState, 'groups'> & { groups: string }>(
		`SELECT t.grant_id AS grantId, t.kind, t.dpop_jkt AS dpopJkt, t.created_at AS createdAt, t.expires_at AS expiresAt, t.retired_at AS retiredAt,
			g.client_id AS clientId, g.scope, g.revoked_at AS revokedAt, u.sub, u.provider, u.name, u.email, u.groups, g.auth_time AS authTime,
			a.sub AS approvedBySub
		 FROM tokens t JOIN grants g ON g.id = t.grant_id JOIN users u ON u.id = g.owner_id LEFT JOIN users a ON a.id = g.approved_by
		 WHERE t.token_hash = ?`
	);
	const findTokenState: Store['findTokenState'] = async (tokenHash) => {
		const state = tokenState.get(tokenHash);
		return state && { ...state, groups: JSON.parse(state.groups) as string[] };
	};

	const grantRevoke = db.prepare<[number, number]>(`UPDATE grants SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`);
	const revokeGrant: Store['revokeGrant'] = async (grantId, now) => void grantRevoke.run(now, grantId);

	// RFC 9700 §4.14.2: a refresh token works once. Retiring it is the whole decision,
	// so of two concurrent refreshes with the same token only one can win.
	const refreshRetire = db.prepare<[{ tokenHash: Buffer; clientId: string; now: number }], { grantId: number }>(
		`UPDATE tokens SET retired_at = :now
		 WHERE token_hash = :tokenHash AND kind = 'refresh' AND retired_at IS NULL AND expires_at > :now
			AND grant_id IN (SELECT id FROM grants WHERE client_id = :clientId AND revoked_at IS NULL)
		 RETURNING grant_id AS grantId`
	);
	const grantScope = db.prepare<[number], { scope: string }>(`SELECT scope FROM grants WHERE id = ?`);
	const rotate = db.transaction((tokenHash: Buffer, clientId: string, next: NewTokenPair, now: number) => {
		const retired = written(refreshRetire.all({ tokenHash, clientId, now }));
		if (retired) {
			insertTokenPair(retired.grantId, next, now);
			return { outcome: 'rotated' as const, grantId: retired.grantId, scope: grantScope.get(retired.grantId)?.scope ?? '' };
		}
		const state = tokenState.get(tokenHash);
		if (state && state.kind === 'refresh' && state.clientId === clientId && state.retiredAt !== null && state.revokedAt === null) {
			grantRevoke.run(now, state.grantId);
			return { outcome: 'reused' as const, grantId: state.grantId, sub: state.sub };
		}
		return { outcome: 'refused' as const };
	});
	const rotateRefreshToken: Store['rotateRefreshToken'] = async (tokenHash, clientId, next, now) => rotate(tokenHash, clientId, next, now);

	const activeAccessToken = db.prepare<[Buffer, number], ActiveAccessToken>(
		`SELECT t.grant_id AS grantId, t.dpop_jkt AS dpopJkt, t.expires_at AS expiresAt, g.scope, g.client_id AS clientId, u.sub, u.provider, u.name, u.email,
			a.sub AS approvedBySub
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

	const anyGrantRevoke = db.prepare<[number, number], RevokedGrant>(
		`UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING id, client_id AS clientId, owner_id AS ownerId`
	);
	const revokeAnyGrant: Store['revokeAnyGrant'] = async (grantId, now) => written(anyGrantRevoke.all(now, grantId));

	const activeGrants = db.prepare<[number, string, number], Grant>(
		`SELECT ${GRANT_COLUMNS}
		 FROM grants g LEFT JOIN clients c ON c.id = g.client_id LEFT JOIN users a ON a.id = g.approved_by
		 WHERE g.owner_id = ? AND g.kind = ? AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > ?)
		 ORDER BY g.created_at DESC`
	);
	const listActiveGrants: Store['listActiveGrants'] = async (ownerId, kind, now) => activeGrants.all(ownerId, kind, now);

	const everyonesGrants = db.prepare<[{ now: number; filter: string; limit: number }], GrantWithOwner>(
		`SELECT ${GRANT_COLUMNS}, o.sub AS ownerSub, o.name AS ownerName
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
