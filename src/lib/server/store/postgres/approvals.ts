import type { DeviceAuthorizationRow, PickupRow, Store, UncollectedApprovalRow } from '../store';
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
					await client.query<DeviceAuthorizationRow>(
						`UPDATE device_authorizations SET status = 'consumed' WHERE id = $1 AND status = 'approved' RETURNING ${DEVICE_COLUMNS}`,
						[authorizationId]
					)
				).rows[0];
				if (!consumed || consumed.owner_id === null) return undefined;
				const scope = consumed.granted_scope ?? consumed.scope;
				const grant = (
					await client.query<{ id: number }>(
						`INSERT INTO grants (kind, owner_id, client_id, scope, label, approved_by, created_at, requester_ip, pickup_ip, auth_time)
						 VALUES ('device', $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
						[consumed.owner_id, consumed.client_id, scope, consumed.label, consumed.approved_by, now, consumed.requester_ip, pickupIp, consumed.decided_at]
					)
				).rows[0];
				await client.query(`UPDATE device_authorizations SET grant_id = $2 WHERE id = $1`, [authorizationId, grant.id]);
				await insertTokenPair(client, grant.id, tokens, now);
				const subs = (
					await client.query<{ owner_sub: string; approver_sub: string | null }>(
						`SELECT o.sub AS owner_sub, a.sub AS approver_sub FROM users o LEFT JOIN users a ON a.id = $2 WHERE o.id = $1`,
						[consumed.owner_id, consumed.approved_by]
					)
				).rows[0];
				return { grantId: grant.id, scope, ownerSub: subs.owner_sub, approverSub: subs.approver_sub };
			}),
		findApprovedIssuance: async (authorizationId) => {
			const row = await one<{ sub: string; name: string | null; email: string | null; scope: string; auth_time: number; actor: string | null }>(
				'findApprovedIssuance',
				`SELECT u.sub, u.name, u.email, coalesce(d.granted_scope, d.scope) AS scope, d.decided_at AS auth_time, a.sub AS actor
				 FROM device_authorizations d JOIN users u ON u.id = d.owner_id LEFT JOIN users a ON a.id = d.approved_by
				 WHERE d.id = $1 AND d.status = 'approved'`,
				[authorizationId]
			);
			return row && { sub: row.sub, name: row.name, email: row.email, scope: row.scope, authTime: row.auth_time, actor: row.actor };
		},
		listUncollectedApprovals: (ownerId, now) =>
			query<UncollectedApprovalRow>(
				'listUncollectedApprovals',
				`SELECT d.id, d.user_code, d.client_id, c.name AS client_name, d.granted_scope, d.label, d.decided_at, d.requester_ip,
					o.sub AS owner_sub, o.name AS owner_name
				 FROM device_authorizations d JOIN users o ON o.id = d.owner_id LEFT JOIN clients c ON c.id = d.client_id
				 WHERE d.status = 'approved' AND d.expires_at > $2 AND ($1::bigint IS NULL OR d.owner_id = $1)
				 ORDER BY d.decided_at DESC LIMIT 200`,
				[ownerId, now]
			),
		revokeUncollectedApproval: (id, ownerId, now) =>
			one<{ user_code: string; client_id: string }>(
				'revokeUncollectedApproval',
				`UPDATE device_authorizations SET status = 'denied', denial_reason = 'revoked', decided_at = $3
				 WHERE id = $1 AND status = 'approved' AND ($2::bigint IS NULL OR owner_id = $2)
				 RETURNING user_code, client_id`,
				[id, ownerId, now]
			),
		findPickup: (userCode, ownerId) =>
			one<PickupRow>(
				'findPickup',
				`SELECT d.status, d.requester_ip, d.client_id, g.created_at AS picked_up_at, g.pickup_ip
				 FROM device_authorizations d LEFT JOIN grants g ON g.id = d.grant_id WHERE d.user_code = $1 AND d.owner_id = $2`,
				[userCode, ownerId]
			),

		findCollectedGrant: async (id, ownerId) =>
			(
				await one<{ grant_id: number }>(
					'findCollectedGrant',
					`SELECT d.grant_id FROM device_authorizations d JOIN grants g ON g.id = d.grant_id
					 WHERE d.id = $1 AND d.status = 'consumed' AND ($2::bigint IS NULL OR d.owner_id = $2) AND g.revoked_at IS NULL`,
					[id, ownerId]
				)
			)?.grant_id
	};
}
