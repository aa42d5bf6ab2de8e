import { recordAudit } from '../core/audit';
import { addressRefusesApproval, approveDeviceAuthorization, onRequestersNetwork, type Actor, type Decision } from '../oauth/device-authorizations';
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
	/** The client's address_mismatch is "refuse" and this browser is elsewhere: Deny only. */
	addressRefusal: boolean;
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
	const client = services.clients.get(authorization.client_id);
	return {
		ok: true,
		view: {
			userCode: formatUserCode(authorization.user_code),
			clientName: client?.name ?? authorization.client_id,
			clientId: authorization.client_id,
			scopes: authorization.scope.split(' ').filter(Boolean),
			requestedAt: authorization.created_at,
			expiresAt: authorization.expires_at,
			requesterIp: authorization.requester_ip,
			requesterUserAgent: authorization.requester_user_agent,
			browserIp,
			addressMismatch: authorization.requester_ip !== null && browserIp !== null && !onRequestersNetwork(authorization.requester_ip, browserIp),
			addressRefusal: addressRefusesApproval(client, authorization.requester_ip, browserIp),
			signedInAs: user.name ?? user.sub,
			sub: user.sub
		}
	};
}

/** An approval at /device/confirm: made, refused by the client's address rule (the code stays pending), or too late. */
export type OwnApproval = Decision | { ok: false; refusedByAddress: true };

/**
 * Approve at /device/confirm: for the person themselves, exactly the scopes that were
 * requested, unless the client's address rule refuses this browser (a forged Approve
 * changes nothing, and is audited).
 */
export async function approveOwnDevice(services: Services, actor: Actor, userCode: string, now: number): Promise<OwnApproval> {
	const pending = await services.store.findLiveDeviceAuthorization(userCode, now);
	if (!pending) return { ok: false };
	if (addressRefusesApproval(services.clients.get(pending.client_id), pending.requester_ip, actor.ip)) {
		await recordAudit(
			services,
			{
				actor: actor.sub,
				action: 'device.approval_refused',
				userCode,
				clientId: pending.client_id,
				ip: actor.ip,
				detail: `the client refuses approval from another network than the one that asked for the code (${pending.requester_ip ?? 'unknown'})`
			},
			now
		);
		return { ok: false, refusedByAddress: true };
	}
	return approveDeviceAuthorization(services, actor, { userCode, ownerId: actor.userId, ownerSub: actor.sub, grantedScope: pending.scope, label: null }, now);
}
