import type { DeviceAuthorization, Issuance, NewTokenPair, Pickup, RevokedApproval, Store, UncollectedApproval } from '../store';
import type { Connection } from './connection';
import { DEVICE_COLUMNS, written, type GrantWrites } from './shared';

/** Approved device authorizations: redeemed by their CLI's poll for a grant and its tokens, or revoked before. */
export function approvals(db: Connection, { insertGrant, insertTokenPair }: GrantWrites) {
	// approved → consumed: of any number of concurrent polls exactly one gets the tokens.
	const consume = db.prepare<[number], DeviceAuthorization>(
		`UPDATE device_authorizations SET status = 'consumed' WHERE id = ? AND status = 'approved' RETURNING ${DEVICE_COLUMNS}`
	);
	const grantAttach = db.prepare<[number, number]>(`UPDATE device_authorizations SET grant_id = ? WHERE id = ?`);
	const subById = db.prepare<[number], { sub: string }>(`SELECT sub FROM users WHERE id = ?`);
	const redeem = db.transaction((authorizationId: number, tokens: NewTokenPair, pickupIp: string | null, now: number) => {
		const authorization = written(consume.all(authorizationId));
		if (!authorization || authorization.ownerId === null) return undefined;
		const scope = authorization.grantedScope ?? authorization.scope;
		const grantId = insertGrant({
			kind: 'device',
			ownerId: authorization.ownerId,
			clientId: authorization.clientId,
			scope,
			label: authorization.label,
			approvedBy: authorization.approvedBy,
			createdAt: now,
			requesterIp: authorization.requesterIp,
			pickupIp,
			expiresAt: null,
			authTime: authorization.decidedAt
		});
		grantAttach.run(grantId, authorization.id);
		insertTokenPair(grantId, tokens, now);
		const ownerSub = (subById.get(authorization.ownerId) as { sub: string }).sub;
		const approverSub = authorization.approvedBy === null ? null : (subById.get(authorization.approvedBy)?.sub ?? null);
		return { grantId, scope, ownerSub, approverSub };
	});
	const redeemApprovedAuthorization: Store['redeemApprovedAuthorization'] = async (authorizationId, tokens, pickupIp, now) =>
		redeem(authorizationId, tokens, pickupIp, now);

	const issuance = db.prepare<[number], Issuance>(
		`SELECT u.sub, u.name, u.email, coalesce(d.granted_scope, d.scope) AS scope, d.decided_at AS authTime, a.sub AS actor
		 FROM device_authorizations d JOIN users u ON u.id = d.owner_id LEFT JOIN users a ON a.id = d.approved_by
		 WHERE d.id = ? AND d.status = 'approved'`
	);
	const findApprovedIssuance: Store['findApprovedIssuance'] = async (authorizationId) => issuance.get(authorizationId);

	const uncollected = db.prepare<[{ ownerId: number | null; now: number }], UncollectedApproval>(
		`SELECT d.id, d.user_code AS userCode, d.client_id AS clientId, c.name AS clientName, d.granted_scope AS grantedScope, d.label,
			d.decided_at AS decidedAt, d.requester_ip AS requesterIp, o.sub AS ownerSub, o.name AS ownerName
		 FROM device_authorizations d JOIN users o ON o.id = d.owner_id LEFT JOIN clients c ON c.id = d.client_id
		 WHERE d.status = 'approved' AND d.expires_at > :now AND (:ownerId IS NULL OR d.owner_id = :ownerId)
		 ORDER BY d.decided_at DESC LIMIT 200`
	);
	const listUncollectedApprovals: Store['listUncollectedApprovals'] = async (ownerId, now) => uncollected.all({ ownerId, now });

	// approved → denied before the CLI collected its tokens: its next poll answers access_denied.
	const uncollectedRevoke = db.prepare<[{ id: number; ownerId: number | null; now: number }], RevokedApproval>(
		`UPDATE device_authorizations SET status = 'denied', denial_reason = 'revoked', decided_at = :now
		 WHERE id = :id AND status = 'approved' AND (:ownerId IS NULL OR owner_id = :ownerId)
		 RETURNING user_code AS userCode, client_id AS clientId`
	);
	const revokeUncollectedApproval: Store['revokeUncollectedApproval'] = async (id, ownerId, now) => written(uncollectedRevoke.all({ id, ownerId, now }));

	const pickup = db.prepare<[string, number], Pickup>(
		`SELECT d.status, d.requester_ip AS requesterIp, d.client_id AS clientId, g.created_at AS pickedUpAt, g.pickup_ip AS pickupIp
		 FROM device_authorizations d LEFT JOIN grants g ON g.id = d.grant_id
		 WHERE d.user_code = ? AND d.owner_id = ?`
	);
	const findPickup: Store['findPickup'] = async (userCode, ownerId) => pickup.get(userCode, ownerId);

	const collectedGrant = db.prepare<[{ id: number; ownerId: number | null }], { grantId: number }>(
		`SELECT d.grant_id AS grantId FROM device_authorizations d JOIN grants g ON g.id = d.grant_id
		 WHERE d.id = :id AND d.status = 'consumed' AND (:ownerId IS NULL OR d.owner_id = :ownerId) AND g.revoked_at IS NULL`
	);
	const findCollectedGrant: Store['findCollectedGrant'] = async (id, ownerId) => collectedGrant.get({ id, ownerId })?.grantId;

	return { redeemApprovedAuthorization, findApprovedIssuance, listUncollectedApprovals, revokeUncollectedApproval, findPickup, findCollectedGrant };
}
