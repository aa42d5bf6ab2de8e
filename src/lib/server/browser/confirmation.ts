import { approveDeviceAuthorization, type Actor, type Decision } from '../oauth/device-authorizations';
import type { Services } from '../core/services';
import type { SessionUser } from './sessions';
import { formatUserCode } from '../oauth/user-code';

/** What /device/confirm shows the person who claimed a code, so they can compare and decide. */
export interface ConfirmationView {
	userCode: string;
	clientName: string;
	clientId: string;
	scopes: string[];
	requestedAt: number;
	expiresAt: number;
	requesterIp: string | null;
	requesterUserAgent: string | null;
	browserIp: string | null;
	/** Phishing: the code was asked for elsewhere than where this browser is. */
	addressMismatch: boolean;
	signedInAs: string;
	sub: string;
}

export type Confirmation = { ok: true; view: ConfirmationView } | { ok: false; reason: 'claimed' | 'expired' };

/**
 * The signed-in person opens a code's confirm page and so claims it: from then on only
 * they can decide it, so a phished code cannot be decided by two people. Another person's
 * claim, or a code no longer pending, is refused.
 */
export async function openConfirmation(services: Services, userCode: string, user: SessionUser, browserIp: string | null, now: number): Promise<Confirmation> {
	const authorization = await services.store.claimDeviceAuthorization(userCode, user.id, now);
	if (!authorization) {
		const claimedByAnother = (await services.store.findLiveDeviceAuthorization(userCode, now)) !== undefined;
		return { ok: false, reason: claimedByAnother ? 'claimed' : 'expired' };
	}
	return {
		ok: true,
		view: {
			userCode: formatUserCode(authorization.userCode),
			clientName: services.clients.get(authorization.clientId)?.name ?? authorization.clientId,
			clientId: authorization.clientId,
			scopes: authorization.scope.split(' ').filter(Boolean),
			requestedAt: authorization.createdAt,
			expiresAt: authorization.expiresAt,
			requesterIp: authorization.requesterIp,
			requesterUserAgent: authorization.requesterUserAgent,
			browserIp,
			addressMismatch: authorization.requesterIp !== null && browserIp !== null && authorization.requesterIp !== browserIp,
			signedInAs: user.name ?? user.sub,
			sub: user.sub
		}
	};
}

/** Approve at /device/confirm: for the person themselves, exactly the scopes that were requested. */
export async function approveOwnDevice(services: Services, actor: Actor, userCode: string, now: number): Promise<Decision> {
	const pending = await services.store.findLiveDeviceAuthorization(userCode, now);
	if (!pending) return { ok: false };
	return approveDeviceAuthorization(services, actor, { userCode, ownerId: actor.userId, ownerSub: actor.sub, grantedScope: pending.scope, label: null }, now);
}
