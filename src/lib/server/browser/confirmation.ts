import {
	addressRefusesApproval,
	approvalVerdict,
	approveDeviceAuthorization,
	onRequestersNetwork,
	recordApprovalRefusal,
	type Actor,
	type Decision
} from '../oauth/device-authorizations';
import type { Services } from '../core/services';
import type { SessionUser } from './sessions';
import type { DeviceAuthorization } from '../store/store';
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
	/** Why this account may not approve for this client (its `allow`); null when it may. */
	refusal: string | null;
}

export type Confirmation = { ok: true; view: ConfirmationView } | { ok: false; reason: 'claimed' | 'expired' };

/**
 * The signed-in person opens a code's confirm page and so claims it: from then on only
 * they can decide it, so a phished code cannot be decided by two people. Another person's
 * claim, or a code no longer pending, is refused. Someone the client's `allow` refuses
 * claims nothing: they are shown why, may deny, and the code waits for someone it admits.
 * `recordRefusal` is false when the page is shown again after a refused Approve, which
 * recorded its own audit entry.
 */
export async function openConfirmation(
	services: Services,
	userCode: string,
	user: SessionUser,
	actor: Actor,
	now: number,
	{ recordRefusal }: { recordRefusal: boolean }
): Promise<Confirmation> {
	const live = await services.store.findLiveDeviceAuthorization(userCode, now);
	if (!live) return { ok: false, reason: 'expired' };
	const verdict = approvalVerdict(services, live.clientId, user);
	if (!verdict.admitted) {
		if (recordRefusal) await recordApprovalRefusal(services, actor, live, verdict.reason, now);
		return { ok: true, view: viewOf(services, live, user, actor.ip, verdict.reason) };
	}
	const authorization = await services.store.claimDeviceAuthorization(userCode, user.id, now);
	if (!authorization) {
		const claimedByAnother = (await services.store.findLiveDeviceAuthorization(userCode, now)) !== undefined;
		return { ok: false, reason: claimedByAnother ? 'claimed' : 'expired' };
	}
	return { ok: true, view: viewOf(services, authorization, user, actor.ip, null) };
}

function viewOf(services: Services, authorization: DeviceAuthorization, user: SessionUser, browserIp: string | null, refusal: string | null): ConfirmationView {
	const client = services.clients.get(authorization.clientId);
	return {
		userCode: formatUserCode(authorization.userCode),
		clientName: client?.name ?? authorization.clientId,
		clientId: authorization.clientId,
		scopes: authorization.scope.split(' ').filter(Boolean),
		requestedAt: authorization.createdAt,
		expiresAt: authorization.expiresAt,
		requesterIp: authorization.requesterIp,
		requesterUserAgent: authorization.requesterUserAgent,
		browserIp,
		addressMismatch: authorization.requesterIp !== null && browserIp !== null && !onRequestersNetwork(authorization.requesterIp, browserIp),
		addressRefusal: addressRefusesApproval(client, authorization.requesterIp, browserIp),
		signedInAs: user.name ?? user.sub,
		sub: user.sub,
		refusal
	};
}

/** Approve at /device/confirm, refused with its reason for someone the client's `allow` does not admit, or from a network its address_mismatch refuses. */
export type OwnApproval = Decision | { ok: false; refusal: string };

/**
 * Approve at /device/confirm: for the person themselves, exactly the scopes that were
 * requested. The client's `allow` and its address rule are checked here too, so an Approve
 * sent without the page (a forged form) that either refuses changes nothing and is audited.
 */
export async function approveOwnDevice(services: Services, user: SessionUser, actor: Actor, userCode: string, now: number): Promise<OwnApproval> {
	const pending = await services.store.findLiveDeviceAuthorization(userCode, now);
	if (!pending) return { ok: false };
	const verdict = approvalVerdict(services, pending.clientId, user);
	if (!verdict.admitted) {
		await recordApprovalRefusal(services, actor, pending, `Approve was sent anyway. ${verdict.reason}`, now);
		return { ok: false, refusal: verdict.reason };
	}
	if (addressRefusesApproval(services.clients.get(pending.clientId), pending.requesterIp, actor.ip)) {
		const reason = `The client accepts approval only from the network that asked for the code (${pending.requesterIp ?? 'unknown'}).`;
		await recordApprovalRefusal(services, actor, pending, `Approve was sent anyway. ${reason}`, now);
		return { ok: false, refusal: reason };
	}
	return approveDeviceAuthorization(services, actor, { userCode, ownerId: actor.userId, ownerSub: actor.sub, grantedScope: pending.scope, label: null }, now);
}
