import { recordAudit } from '../core/audit';
import { DENIAL_DESCRIPTIONS, type DenialReason } from './device-authorizations';
import { hashSecret } from '../core/crypto';
import { countDeviceFlow } from '../core/metrics';
import { accessDenied, authorizationPending, expiredToken, invalidDpopProof, invalidGrant, invalidRequest, ok, slowDown, type OAuthResult } from './errors';
import type { Client } from '../core/clients';
import type { RequestContext, Services } from '../core/services';
import { issueTokens } from './tokens';

const REPLAYED = 'The device code was already used; the tokens issued from it are now revoked.';

/**
 * RFC 8628 §3.4–3.5: one poll of the token endpoint with a device code, for an
 * already authenticated client and the DPoP key its proof proved (or none), as guard clauses: found → replayed → too fast →
 * denied → expired → pending → consume → issue (the order of poll-rule.ts). A waiting
 * poll is one statement; redeeming an approval with its grant and tokens is one store
 * operation, so an approval is never lost and tokens are issued exactly once.
 */
export async function pollDeviceCode(
	services: Services,
	client: Client,
	deviceCode: string | undefined,
	dpopJkt: string | null,
	context: RequestContext
): Promise<OAuthResult> {
	if (!deviceCode) return invalidRequest('device_code is required.');
	const { store } = services;
	const polled = await store.pollDeviceAuthorization(hashSecret(deviceCode), client.id, dpopJkt, context.now);
	if (!polled) return invalidGrant('The device code is unknown or was issued to another client.');
	switch (polled.lastPollOutcome) {
		case 'wrong_dpop_key':
			// Bound from its first request (draft-parecki-oauth-dpop-device-flow): this poll is not its CLI's.
			return invalidDpopProof(
				dpopJkt === null ? 'This device code is bound to a DPoP key: poll with a DPoP proof signed by it.' : 'This device code is bound to another DPoP key.'
			);
		case 'replayed':
			countDeviceFlow('replayed');
			// A device code redeemed twice has leaked: end what it gave out, and say so in the audit log.
			if (polled.grantId !== null) {
				await store.revokeGrant(polled.grantId, context.now);
				await recordAudit(
					services,
					{
						actor: null,
						action: 'grant.revoked_replayed_device_code',
						clientId: client.id,
						ip: context.ip,
						detail: `grant ${polled.grantId}: its device code was presented again after it was redeemed, so it leaked`
					},
					context.now
				);
			}
			return invalidGrant(REPLAYED);
		case 'slow_down':
			countDeviceFlow('slow_down');
			return slowDown(`Polling too fast: wait ${polled.intervalSeconds} seconds between requests.`);
		case 'denied':
			return accessDenied(DENIAL_DESCRIPTIONS[polled.denialReason as DenialReason] ?? DENIAL_DESCRIPTIONS.user);
		case 'expired':
			countDeviceFlow('expired');
			return expiredToken('The device code has expired. Start the login again to get a new code.');
		case 'pending':
			return authorizationPending(polled.enteredAt === null ? 'Waiting for the code to be entered in a browser.' : 'Waiting for approval in the browser.');
		case 'issue': {
			// The tokens (an ID token, a JWT) name their owner: read who it is, then redeem.
			const issuance = await store.findApprovedIssuance(polled.id);
			if (!issuance) return invalidGrant(REPLAYED);
			const tokens = await issueTokens(services, client, issuance, dpopJkt, context.now);
			const redeemed = await store.redeemApprovedAuthorization(polled.id, tokens.stored, context.ip, context.now);
			if (!redeemed) return invalidGrant(REPLAYED);
			countDeviceFlow('redeemed');
			// Beyond RFC 6749's fields: whose tokens these are, and which admin approved them.
			return ok({ ...tokens.response, sub: redeemed.ownerSub, ...(redeemed.approverSub ? { approved_by: redeemed.approverSub } : {}) });
		}
	}
}
