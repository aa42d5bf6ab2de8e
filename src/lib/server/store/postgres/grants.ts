import type { ActiveAccessToken, Grant, GrantWithOwner, RevokedGrant, Store, TokenState } from '../store';
import type { Connection } from './connection';
import { insertTokenPair } from './shared';

/** A grant's columns as the store contract's Grant names them (`g` the grant, `c` its client, `a` its approver). */
const GRANT_COLUMNS = `g.id, g.kind, g.client_id AS "clientId", c.name AS "clientName", g.scope, g.label, g.created_at AS "createdAt",
	g.expires_at AS "expiresAt", g.requester_ip AS "requesterIp", g.pickup_ip AS "pickupIp", g.last_used_at AS "lastUsedAt",
	g.last_used_ip AS "lastUsedIp", a.sub AS "approvedBySub"`;

type Grants = Pick<
	Store,
	| 'createPersonalGrant'
	| 'rotateRefreshToken'
	| 'findTokenState'
	| 'findActiveAccessToken'
	| 'retireAccessToken'
	| 'touchGrant'
	| 'revokeGrant'
	| 'revokeOwnGrant'
	| 'revokeAnyGrant'
	| 'listActiveGrants'
	| 'listAllActiveGrants'
>;

/** Grants and their tokens: personal tokens, refresh rotation, lookups, use and revocation. */
export function grants({ query, one, transaction }: Connection): Grants {
	return {
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
					await client.query<{ grantId: number; scope: string }>(
						`UPDATE tokens t SET retired_at = $3 FROM grants g
						 WHERE t.token_hash = $1 AND t.kind = 'refresh' AND t.retired_at IS NULL AND t.expires_at > $3
							AND g.id = t.grant_id AND g.client_id = $2 AND g.revoked_at IS NULL
						 RETURNING t.grant_id AS "grantId", g.scope`,
						[tokenHash, clientId, now]
					)
				).rows[0];
				if (retired) {
					await insertTokenPair(client, retired.grantId, next, now);
					return { outcome: 'rotated' as const, grantId: retired.grantId, scope: retired.scope };
				}
				const reused = (
					await client.query<{ grantId: number; sub: string }>(
						`UPDATE grants g SET revoked_at = $3 FROM tokens t, users u
						 WHERE t.token_hash = $1 AND t.kind = 'refresh' AND t.retired_at IS NOT NULL AND g.id = t.grant_id
							AND g.client_id = $2 AND g.revoked_at IS NULL AND u.id = g.owner_id
						 RETURNING g.id AS "grantId", u.sub`,
						[tokenHash, clientId, now]
					)
				).rows[0];
				return reused ? { outcome: 'reused' as const, grantId: reused.grantId, sub: reused.sub } : { outcome: 'refused' as const };
			}),
		findTokenState: (tokenHash) =>
			one<TokenState>(
				'findTokenState',
				`SELECT t.grant_id AS "grantId", t.kind, t.dpop_jkt AS "dpopJkt", t.created_at AS "createdAt", t.expires_at AS "expiresAt", t.retired_at AS "retiredAt",
					g.client_id AS "clientId", g.scope, g.revoked_at AS "revokedAt", u.sub, u.provider, u.name, u.email, u.groups::json AS groups,
					g.auth_time AS "authTime", a.sub AS "approvedBySub"
				 FROM tokens t JOIN grants g ON g.id = t.grant_id JOIN users u ON u.id = g.owner_id LEFT JOIN users a ON a.id = g.approved_by
				 WHERE t.token_hash = $1`,
				[tokenHash]
			),
		findActiveAccessToken: (tokenHash, now) =>
			one<ActiveAccessToken>(
				'findActiveAccessToken',
				`SELECT t.grant_id AS "grantId", t.dpop_jkt AS "dpopJkt", t.expires_at AS "expiresAt", g.scope, g.client_id AS "clientId", u.sub, u.provider, u.name, u.email,
					a.sub AS "approvedBySub"
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
			one<RevokedGrant>(
				'revokeAnyGrant',
				`UPDATE grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id, client_id AS "clientId", owner_id AS "ownerId"`,
				[grantId, now]
			),
		listActiveGrants: (ownerId, kind, now) =>
			query<Grant>(
				'listActiveGrants',
				`SELECT ${GRANT_COLUMNS}
				 FROM grants g LEFT JOIN clients c ON c.id = g.client_id LEFT JOIN users a ON a.id = g.approved_by
				 WHERE g.owner_id = $1 AND g.kind = $2 AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $3)
				 ORDER BY g.created_at DESC`,
				[ownerId, kind, now]
			),
		listAllActiveGrants: (now, filter, limit) =>
			query<GrantWithOwner>(
				'listAllActiveGrants',
				`SELECT ${GRANT_COLUMNS}, o.sub AS "ownerSub", o.name AS "ownerName"
				 FROM grants g JOIN users o ON o.id = g.owner_id LEFT JOIN clients c ON c.id = g.client_id LEFT JOIN users a ON a.id = g.approved_by
				 WHERE g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $1)
					AND ($2 = '' OR strpos(lower(o.sub), $2) > 0 OR strpos(lower(coalesce(o.name, '')), $2) > 0
						OR strpos(lower(coalesce(o.email, '')), $2) > 0 OR strpos(lower(coalesce(g.label, '')), $2) > 0)
				 ORDER BY g.created_at DESC LIMIT $3`,
				[now, filter, limit]
			)
	};
}
