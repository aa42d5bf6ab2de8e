import type { DeviceAuthorization, Issuance, Pickup, RevokedApproval, Store, UncollectedApproval } from '../store';
import type { Connection } from './connection';
import { DEVICE_COLUMNS, insertTokenPair } from './shared';

type Approvals = Pick<
	Store,
	'redeemApprovedAuthorization' | 'findApprovedIssuance' | 'listUncollectedApprovals' | 'revokeUncollectedApproval' | 'findPickup' | 'findCollectedGrant'
>;

/** Approved device authorizations: redeemed by their CLI's poll for a grant and its tokens, or revoked before. */
export function approvals({ query, one, transaction }: Connection): Approvals {
	return {
		redeemApprovedAuthorization: (authorizationId, tokens, pickupIp, now) =>
			transaction(async (client) => {
				const consumed = (
					await client.query<DeviceAuthorization>(
						`UPDATE device_authorizations SET status = 'consumed' WHERE id = $1 AND status = 'approved' RETURNING ${DEVICE_COLUMNS}`,
						[authorizationId]
					)
				).rows[0];
				if (!consumed || consumed.ownerId === null) return undefined;
				const scope = consumed.grantedScope ?? consumed.scope;
				const grant = (
					await client.query<{ id: number }>(
						`INSERT INTO grants (kind, owner_id, client_id, scope, label, approved_by, created_at, requester_ip, pickup_ip, auth_time)
						 VALUES ('device', $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
						[consumed.ownerId, consumed.clientId, scope, consumed.label, consumed.approvedBy, now, consumed.requesterIp, pickupIp, consumed.decidedAt]
					)
				).rows[0];
				await client.query(`UPDATE device_authorizations SET grant_id = $2 WHERE id = $1`, [authorizationId, grant.id]);
				await insertTokenPair(client, grant.id, tokens, now);
				const subs = (
					await client.query<{ ownerSub: string; approverSub: string | null }>(
						`SELECT o.sub AS "ownerSub", a.sub AS "approverSub" FROM users o LEFT JOIN users a ON a.id = $2 WHERE o.id = $1`,
						[consumed.ownerId, consumed.approvedBy]
					)
				).rows[0];
				return { grantId: grant.id, scope, ownerSub: subs.ownerSub, approverSub: subs.approverSub };
			}),
		findApprovedIssuance: (authorizationId) =>
			one<Issuance>(
				'findApprovedIssuance',
				`SELECT u.sub, u.name, u.email, coalesce(d.granted_scope, d.scope) AS scope, d.decided_at AS "authTime", a.sub AS actor
				 FROM device_authorizations d JOIN users u ON u.id = d.owner_id LEFT JOIN users a ON a.id = d.approved_by
				 WHERE d.id = $1 AND d.status = 'approved'`,
				[authorizationId]
			),
		listUncollectedApprovals: (ownerId, now) =>
			query<UncollectedApproval>(
				'listUncollectedApprovals',
				`SELECT d.id, d.user_code AS "userCode", d.client_id AS "clientId", c.name AS "clientName", d.granted_scope AS "grantedScope", d.label,
					d.decided_at AS "decidedAt", d.requester_ip AS "requesterIp", o.sub AS "ownerSub", o.name AS "ownerName"
				 FROM device_authorizations d JOIN users o ON o.id = d.owner_id LEFT JOIN clients c ON c.id = d.client_id
				 WHERE d.status = 'approved' AND d.expires_at > $2 AND ($1::bigint IS NULL OR d.owner_id = $1)
				 ORDER BY d.decided_at DESC LIMIT 200`,
				[ownerId, now]
			),
		revokeUncollectedApproval: (id, ownerId, now) =>
			one<RevokedApproval>(
				'revokeUncollectedApproval',
				`UPDATE device_authorizations SET status = 'denied', denial_reason = 'revoked', decided_at = $3
				 WHERE id = $1 AND status = 'approved' AND ($2::bigint IS NULL OR owner_id = $2)
				 RETURNING user_code AS "userCode", client_id AS "clientId"`,
				[id, ownerId, now]
			),
		findPickup: (userCode, ownerId) =>
			one<Pickup>(
				'findPickup',
				`SELECT d.status, d.requester_ip AS "requesterIp", d.client_id AS "clientId", g.created_at AS "pickedUpAt", g.pickup_ip AS "pickupIp"
				 FROM device_authorizations d LEFT JOIN grants g ON g.id = d.grant_id WHERE d.user_code = $1 AND d.owner_id = $2`,
				[userCode, ownerId]
			),

		findCollectedGrant: async (id, ownerId) =>
			(
				await one<{ grantId: number }>(
					'findCollectedGrant',
					`SELECT d.grant_id AS "grantId" FROM device_authorizations d JOIN grants g ON g.id = d.grant_id
					 WHERE d.id = $1 AND d.status = 'consumed' AND ($2::bigint IS NULL OR d.owner_id = $2) AND g.revoked_at IS NULL`,
					[id, ownerId]
				)
			)?.grantId
	};
}
