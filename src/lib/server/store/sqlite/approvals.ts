import type { DeviceAuthorizationRow, NewTokenPair, PickupRow, Store, UncollectedApprovalRow } from '../store';
import type { Connection } from './connection';
import { DEVICE_COLUMNS, written, type GrantWrites } from './shared';

/** Approved device authorizations: redeemed by their CLI's poll for a grant and its tokens, or revoked before. */
export function approvals(db: Connection, { insertGrant, insertTokenPair }: GrantWrites) {
	// approved → consumed: of any number of concurrent polls exactly one gets the tokens.
	const consume = db.prepare<[number], DeviceAuthorizationRow>(
		`UPDATE device_authorizations SET status = 'consumed' WHERE id = ? AND status = 'approved' RETURNING ${DEVICE_COLUMNS}`
	);
	const grantAttach = db.prepare<[number, number]>(`UPDATE device_authorizations SET grant_id = ? WHERE id = ?`);
	const subById = db.prepare<[number], { sub: string }>(`SELECT sub FROM users WHERE id = ?`);
	const redeem = db.transaction((authorizationId: number, tokens: NewTokenPair, pickupIp: string | null, now: number) => {
		const authorization = written(consume.all(authorizationId));
		if (!authorization || authorization.owner_id === null) return undefined;
		const scope = authorization.granted_scope ?? authorization.scope;
		const grantId = insertGrant({
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
		});
		grantAttach.run(grantId, authorization.id);
		insertTokenPair(grantId, tokens, now);
		const ownerSub = (subById.get(authorization.owner_id) as { sub: string }).sub;
		const approverSub = authorization.approved_by === null ? null : (subById.get(authorization.approved_by)?.sub ?? null);
		return { grantId, scope, ownerSub, approverSub };
	});
	const redeemApprovedAuthorization: Store['redeemApprovedAuthorization'] = async (authorizationId, tokens, pickupIp, now) =>
		redeem(authorizationId, tokens, pickupIp, now);

	const issuance = db.prepare<[number], { sub: string; name: string | null; email: string | null; scope: string; auth_time: number; actor: string | null }>(
		`SELECT u.sub, u.name, u.email, coalesce(d.granted_scope, d.scope) AS scope, d.decided_at AS auth_time, a.sub AS actor
		 FROM device_authorizations d JOIN users u ON u.id = d.owner_id LEFT JOIN users a ON a.id = d.approved_by
		 WHERE d.id = ? AND d.status = 'approved'`
	);
	const findApprovedIssuance: Store['findApprovedIssuance'] = async (authorizationId) => {
		const row = issuance.get(authorizationId);
		return row && { sub: row.sub, name: row.name, email: row.email, scope: row.scope, authTime: row.auth_time, actor: row.actor };
	};

	const uncollected = db.prepare<[{ ownerId: number | null; now: number }], UncollectedApprovalRow>(
		`SELECT d.id, d.user_code, d.client_id, c.name AS client_name, d.granted_scope, d.label, d.decided_at, d.requester_ip,
			o.sub AS owner_sub, o.name AS owner_name
		 FROM device_authorizations d JOIN users o ON o.id = d.owner_id LEFT JOIN clients c ON c.id = d.client_id
		 WHERE d.status = 'approved' AND d.expires_at > :now AND (:ownerId IS NULL OR d.owner_id = :ownerId)
		 ORDER BY d.decided_at DESC LIMIT 200`
	);
	const listUncollectedApprovals: Store['listUncollectedApprovals'] = async (ownerId, now) => uncollected.all({ ownerId, now });

	// approved → denied before the CLI collected its tokens: its next poll answers access_denied.
	const uncollectedRevoke = db.prepare<[{ id: number; ownerId: number | null; now: number }], { user_code: string; client_id: string }>(
		`UPDATE device_authorizations SET status = 'denied', denial_reason = 'revoked', decided_at = :now
		 WHERE id = :id AND status = 'approved' AND (:ownerId IS NULL OR owner_id = :ownerId)
		 RETURNING user_code, client_id`
	);
	const revokeUncollectedApproval: Store['revokeUncollectedApproval'] = async (id, ownerId, now) => written(uncollectedRevoke.all({ id, ownerId, now }));

	const pickup = db.prepare<[string, number], PickupRow>(
		`SELECT d.status, d.requester_ip, d.client_id, g.created_at AS picked_up_at, g.pickup_ip
		 FROM device_authorizations d LEFT JOIN grants g ON g.id = d.grant_id
		 WHERE d.user_code = ? AND d.owner_id = ?`
	);
	const findPickup: Store['findPickup'] = async (userCode, ownerId) => pickup.get(userCode, ownerId);

	const collectedGrant = db.prepare<[{ id: number; ownerId: number | null }], { grant_id: number }>(
		`SELECT d.grant_id FROM device_authorizations d JOIN grants g ON g.id = d.grant_id
		 WHERE d.id = :id AND d.status = 'consumed' AND (:ownerId IS NULL OR d.owner_id = :ownerId) AND g.revoked_at IS NULL`
	);
	const findCollectedGrant: Store['findCollectedGrant'] = async (id, ownerId) => collectedGrant.get({ id, ownerId })?.grant_id;

	return { redeemApprovedAuthorization, findApprovedIssuance, listUncollectedApprovals, revokeUncollectedApproval, findPickup, findCollectedGrant };
}
