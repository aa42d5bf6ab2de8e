import type { AuthorizationCode, NewAuthorizationCode, NewTokenPair, Store } from '../store';
import type { Connection } from './connection';
import { written, type GrantWrites } from './shared';

/** Authorization codes (RFC 6749 §4.1 with PKCE): made at approval, redeemed once by a token request. */
export function authorizationCodes(db: Connection, { insertGrant, insertTokenPair }: GrantWrites) {
	const codeInsert = db.prepare<[NewAuthorizationCode]>(
		`INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, code_challenge, scope, nonce, dpop_jkt, owner_id, approver_ip, created_at, expires_at)
		 VALUES (:codeHash, :clientId, :redirectUri, :codeChallenge, :scope, :nonce, :dpopJkt, :ownerId, :approverIp, :createdAt, :expiresAt)`
	);
	const insertAuthorizationCode: Store['insertAuthorizationCode'] = async (code) => void codeInsert.run(code);

	const code = db.prepare<[Buffer], AuthorizationCode>(
		`SELECT c.id, c.client_id AS clientId, c.redirect_uri AS redirectUri, c.code_challenge AS codeChallenge, c.scope, c.nonce,
			c.dpop_jkt AS dpopJkt, c.created_at AS createdAt, c.expires_at AS expiresAt, c.consumed_at AS consumedAt, c.grant_id AS grantId,
			u.sub, u.name, u.email
		 FROM authorization_codes c JOIN users u ON u.id = c.owner_id WHERE c.code_hash = ?`
	);
	const findAuthorizationCode: Store['findAuthorizationCode'] = async (codeHash) => code.get(codeHash);

	// Marking the code redeemed is the decision: of two token requests with one code, one wins.
	const consume = db.prepare<[{ id: number; now: number }], { ownerId: number; clientId: string; scope: string; approverIp: string | null; createdAt: number }>(
		`UPDATE authorization_codes SET consumed_at = :now WHERE id = :id AND consumed_at IS NULL AND expires_at > :now
		 RETURNING owner_id AS ownerId, client_id AS clientId, scope, approver_ip AS approverIp, created_at AS createdAt`
	);
	const grantAttach = db.prepare<[number, number]>(`UPDATE authorization_codes SET grant_id = ? WHERE id = ?`);
	const subById = db.prepare<[number], { sub: string }>(`SELECT sub FROM users WHERE id = ?`);
	const redeem = db.transaction((id: number, tokens: NewTokenPair, pickupIp: string | null, now: number) => {
		const consumed = written(consume.all({ id, now }));
		if (!consumed) return undefined;
		const grantId = insertGrant({
			kind: 'device',
			ownerId: consumed.ownerId,
			clientId: consumed.clientId,
			scope: consumed.scope,
			label: null,
			approvedBy: null,
			createdAt: now,
			requesterIp: consumed.approverIp,
			pickupIp,
			expiresAt: null,
			authTime: consumed.createdAt
		});
		grantAttach.run(grantId, id);
		insertTokenPair(grantId, tokens, now);
		return { grantId, ownerSub: (subById.get(consumed.ownerId) as { sub: string }).sub };
	});
	const redeemAuthorizationCode: Store['redeemAuthorizationCode'] = async (id, tokens, pickupIp, now) => redeem(id, tokens, pickupIp, now);

	return { insertAuthorizationCode, findAuthorizationCode, redeemAuthorizationCode };
}
