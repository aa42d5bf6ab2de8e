import { recordAudit } from '../core/audit';
import { countAuthorizationCode } from '../core/metrics';
import type { Services } from '../core/services';
import { approveAuthorizationRequest, type AuthorizationRequest } from '../oauth/authorization-requests';
import { approvalVerdict, type Actor } from '../oauth/device-authorizations';
import type { SessionUser } from './sessions';

/** What /oauth/authorize shows the signed-in person: who asks, for what, and where the answer goes. */
export interface ConsentView {
	clientName: string;
	clientId: string;
	scopes: string[];
	/** The origin of the redirect_uri: where the browser goes next (for a CLI, this machine). */
	answerGoesTo: string;
	/** A loopback address: the answer stays on this machine. */
	answerStaysHere: boolean;
	signedInAs: string;
	sub: string;
	/** Why this account may not approve for this client (its `allow`); null when it may. */
	refusal: string | null;
	/** The request's parameters as a query, which the page's form sends again with its answer. */
	query: string;
}

/**
 * The consent page for a checked request. The client's `allow` applies as at /device/confirm: a
 * person it refuses sees why and may only deny; the refusal is audited when the page is first
 * shown (`recordRefusal`), not again when it is shown after a refused Approve.
 */
export async function openConsent(
	services: Services,
	request: AuthorizationRequest,
	user: SessionUser,
	actor: Actor,
	now: number,
	{ recordRefusal }: { recordRefusal: boolean }
): Promise<ConsentView> {
	const verdict = approvalVerdict(services, request.client.id, user);
	if (!verdict.admitted && recordRefusal) await recordConsentRefusal(services, request, actor, verdict.reason, now);
	const destination = new URL(request.redirectUri);
	return {
		clientName: request.client.name,
		clientId: request.client.id,
		scopes: request.scopes,
		answerGoesTo: destination.origin,
		answerStaysHere: destination.protocol === 'http:',
		signedInAs: user.name ?? user.sub,
		sub: user.sub,
		refusal: verdict.admitted ? null : verdict.reason,
		query: new URLSearchParams(request.params).toString()
	};
}

/** Approve: where to send the browser with its code; or, for someone the client's `allow` refuses (a forged form), the reason, audited. */
export type ConsentApproval = { ok: true; location: string } | { ok: false; refusal: string };

export async function approveConsent(
	services: Services,
	request: AuthorizationRequest,
	user: SessionUser,
	actor: Actor,
	now: number
): Promise<ConsentApproval> {
	const verdict = approvalVerdict(services, request.client.id, user);
	if (!verdict.admitted) {
		await recordConsentRefusal(services, request, actor, `Approve was sent anyway. ${verdict.reason}`, now);
		return { ok: false, refusal: verdict.reason };
	}
	return { ok: true, location: await approveAuthorizationRequest(services, request, actor, now) };
}

async function recordConsentRefusal(services: Services, request: AuthorizationRequest, actor: Actor, detail: string, now: number) {
	countAuthorizationCode('refused');
	await recordAudit(services, { actor: actor.sub, action: 'authorization.approve_refused', clientId: request.client.id, ip: actor.ip, detail }, now);
}
