import type { AuthorizationCode, Store } from '../store';
import type { Connection } from './connection';
import { insertTokenPair } from './shared';

type AuthorizationCodes = Pick<Store, 'insertAuthorizationCode' | 'findAuthorizationCode' | 'redeemAuthorizationCode'>;

/** Authorization codes (RFC 6749 §4.1 with PKCE): made at approval, redeemed once by a token request. */
export function authorizationCodes({ query, one, transaction }: Connection): AuthorizationCodes {
	return {
		insertAuthorizationCode: async (code) => {
			await query(
				'insertAuthorizationCode',
				`INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, code_challenge, scope, nonce, dpop_jkt, owner_id, approver_ip, created_at, expires_at)
				 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				[
					code.codeHash,
					code.clientId,
					code.redirectUri,
					code.codeChallenge,
					code.scope,
					code.nonce,
					code.dpopJkt,
					code.ownerId,
					code.approverIp,
					code.createdAt,
					code.expiresAt
				]
			);
		},
		findAuthorizationCode: (codeHash) =>
			one<AuthorizationCode>(
				'findAuthorizationCode',
				`SELECT c.id, c.client_id AS "clientId", c.redirect_uri AS "redirectUri", c.code_challenge AS "codeChallenge", c.scope, c.nonce,
					c.dpop_jkt AS "dpopJkt", c.created_at AS "createdAt", c.expires_at AS "expiresAt", c.consumed_at AS "consumedAt",
					c.grant_id AS "grantId", u.sub, u.name, u.email
				 FROM authorization_codes c JOIN users u ON u.id = c.owner_id WHERE c.code_hash = $1`,
				[codeHash]
			),
		// Marking the code redeemed is the decision: of two token requests with one code, one wins.
		redeemAuthorizationCode: (id, tokens, pickupIp, now) =>
			transaction(async (client) => {
				const consumed = (
					await client.query<{ ownerId: number; clientId: string; scope: string; approverIp: string | null; createdAt: number; ownerSub: string }>(
						`UPDATE authorization_codes c SET consumed_at = $2 FROM users u
						 WHERE c.id = $1 AND c.consumed_at IS NULL AND c.expires_at > $2 AND u.id = c.owner_id
						 RETURNING c.owner_id AS "ownerId", c.client_id AS "clientId", c.scope, c.approver_ip AS "approverIp", c.created_at AS "createdAt", u.sub AS "ownerSub"`,
						[id, now]
					)
				).rows[0];
				if (!consumed) return undefined;
				const grant = (
					await client.query<{ id: number }>(
						`INSERT INTO grants (kind, owner_id, client_id, scope, approved_by, created_at, requester_ip, pickup_ip, auth_time)
						 VALUES ('device', $1, $2, $3, NULL, $4, $5, $6, $7) RETURNING id`,
						[consumed.ownerId, consumed.clientId, consumed.scope, now, consumed.approverIp, pickupIp, consumed.createdAt]
					)
				).rows[0];
				await client.query(`UPDATE authorization_codes SET grant_id = $2 WHERE id = $1`, [id, grant.id]);
				await insertTokenPair(client, grant.id, tokens, now);
				return { grantId: grant.id, ownerSub: consumed.ownerSub };
			})
	};
}
