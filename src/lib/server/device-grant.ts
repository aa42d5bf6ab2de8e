import { DENIAL_DESCRIPTIONS, type DenialReason } from './device-authorizations';
import { hashSecret } from './crypto';
import { invalidGrant, invalidRequest, ok, OAuthError, type OAuthResult } from './oauth-errors';
import type { Client } from './clients';
import type { RequestContext, Services } from './services';
import { issueTokens } from './tokens';

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

const REPLAYED = 'The device code was already used; the tokens issued from it are now revoked.';

/**
 * RFC 8628 §3.4–3.5: one poll of the token endpoint with a device code, for an
 * already authenticated client, as guard clauses: found → replayed → too fast →
 * denied → expired → pending → consume → issue. A waiting poll is one statement;
 * consuming an approval and writing its tokens is one transaction, so an approval
 * is never lost and tokens are issued exactly once.
 */
export function pollDeviceCode(services: Services, client: Client, deviceCode: string | undefined, context: RequestContext): OAuthResult {
	if (!deviceCode) return invalidRequest('device_code is required.').toResult();
	const { store } = services;
	const polled = store.pollDeviceAuthorization(hashSecret(deviceCode), client.id, context.now);
	if (!polled) return invalidGrant('The device code is unknown or was issued to another client.').toResult();
	switch (polled.last_poll_outcome) {
		case 'replayed':
			// A device code redeemed twice has leaked: end what it gave out.
			if (polled.grant_id !== null) store.revokeGrant(polled.grant_id, context.now);
			return invalidGrant(REPLAYED).toResult();
		case 'slow_down':
			return deviceError('slow_down', `Polling too fast: wait ${polled.interval_seconds} seconds between requests.`);
		case 'denied':
			return deviceError('access_denied', DENIAL_DESCRIPTIONS[polled.denial_reason as DenialReason] ?? DENIAL_DESCRIPTIONS.user);
		case 'expired':
			return deviceError('expired_token', 'The device code has expired. Start the login again to get a new code.');
		case 'pending':
			return deviceError(
				'authorization_pending',
				polled.entered_at === null ? 'Waiting for the code to be entered in a browser.' : 'Waiting for approval in the browser.'
			);
		case 'issue':
			return store.transaction(() => {
				const authorization = store.consumeApprovedAuthorization(polled.id);
				if (!authorization) return invalidGrant(REPLAYED).toResult();
				const scope = authorization.granted_scope ?? authorization.scope;
				const grantId = store.insertGrant({
					kind: 'device',
					ownerId: authorization.owner_id as number,
					clientId: authorization.client_id,
					scope,
					label: authorization.label,
					approvedBy: authorization.approved_by,
					createdAt: context.now,
					requesterIp: authorization.requester_ip,
					pickupIp: context.ip,
					expiresAt: null
				});
				store.attachGrant(authorization.id, grantId);
				// Beyond RFC 6749's fields: whose tokens these are, and which admin approved them.
				const owner = store.findUserById(authorization.owner_id as number);
				const approver = authorization.approved_by === null ? undefined : store.findUserById(authorization.approved_by);
				return ok({
					...issueTokens(services, grantId, scope, context.now),
					sub: owner?.sub,
					...(approver ? { approved_by: approver.sub } : {})
				});
			});
	}
}

function deviceError(error: string, description: string): OAuthResult {
	return new OAuthError(400, error, description).toResult();
}
