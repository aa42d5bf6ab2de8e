import { redirect } from '@sveltejs/kit';
import {
	approveDeviceAuthorization,
	claimForConfirmation,
	denyDeviceAuthorization,
	findPendingAuthorization,
	reportDeviceAuthorization,
	resolveDeviceLogin
} from '#lib/server/device-authorizations.ts';
import { browserId, deviceLoginInProgress, forgetDeviceLogin } from '#lib/server/device-login.ts';
import { actorOf, requestContext } from '#lib/server/http.ts';
import { services } from '#lib/server/services.ts';
import { formatUserCode } from '#lib/server/user-code.ts';
import type { Actions, PageServerLoad, RequestEvent } from './$types';

function signedInUser(locals: App.Locals, url: URL) {
	if (!locals.user) redirect(303, `/login?return_to=${encodeURIComponent(url.pathname)}`);
	return locals.user;
}

/** The code this browser entered, from its device-login cookie's handle; forged handles count as wrong codes. */
function userCodeInProgress(event: RequestEvent | Parameters<PageServerLoad>[0]) {
	const { cookies, locals } = event;
	const { config } = services();
	const handle = deviceLoginInProgress(cookies, config);
	if (!handle) redirect(303, '/device');
	const source = { ip: requestContext(event).ip, browser: browserId(cookies, config), actor: locals.user?.sub ?? null };
	const login = resolveDeviceLogin(services(), handle, source, Date.now());
	if (!login.ok) {
		forgetDeviceLogin(cookies, config);
		redirect(303, `/device/error?reason=${login.reason === 'limited' ? 'limited' : 'expired'}`);
	}
	return login.userCode;
}

export const load: PageServerLoad = (event) => {
	const { locals, url, cookies } = event;
	const userCode = userCodeInProgress(event);
	const user = signedInUser(locals, url);
	const now = Date.now();
	const authorization = claimForConfirmation(services(), userCode, user.user_id, now);
	if (!authorization) {
		const claimedByAnother = findPendingAuthorization(services(), userCode, now) !== undefined;
		forgetDeviceLogin(cookies, services().config);
		redirect(303, `/device/error?reason=${claimedByAnother ? 'claimed' : 'expired'}`);
	}
	const browserIp = requestContext(event).ip;
	return {
		userCode: formatUserCode(authorization.user_code),
		clientName: services().clients.get(authorization.client_id)?.name ?? authorization.client_id,
		clientId: authorization.client_id,
		scopes: authorization.scope.split(' ').filter(Boolean),
		requestedAt: authorization.created_at,
		expiresAt: authorization.expires_at,
		requesterIp: authorization.requester_ip,
		requesterUserAgent: authorization.requester_user_agent,
		browserIp,
		// Phishing: a code asked for elsewhere than where this browser is.
		addressMismatch: authorization.requester_ip !== null && browserIp !== null && authorization.requester_ip !== browserIp,
		signedInAs: user.name ?? user.sub,
		sub: user.sub
	};
};

export const actions: Actions = {
	approve: (event) => {
		const { locals, url, cookies } = event;
		const userCode = userCodeInProgress(event);
		const user = signedInUser(locals, url);
		const now = Date.now();
		const pending = findPendingAuthorization(services(), userCode, now);
		const decision = pending
			? approveDeviceAuthorization(
					services(),
					actorOf(event, user),
					{ userCode, ownerId: user.user_id, ownerSub: user.sub, grantedScope: pending.scope, label: null },
					now
				)
			: { ok: false as const };
		forgetDeviceLogin(cookies, services().config);
		redirect(303, decision.ok ? `/device/success?code=${userCode}` : '/device/error?reason=expired');
	},
	deny: (event) => {
		const { locals, url, cookies } = event;
		const userCode = userCodeInProgress(event);
		const user = signedInUser(locals, url);
		const decision = denyDeviceAuthorization(services(), actorOf(event, user), userCode, 'user', Date.now());
		forgetDeviceLogin(cookies, services().config);
		redirect(303, decision.ok ? '/device/error?reason=denied' : '/device/error?reason=expired');
	},
	report: (event) => {
		const { locals, url, cookies } = event;
		const userCode = userCodeInProgress(event);
		const user = signedInUser(locals, url);
		const report = reportDeviceAuthorization(services(), actorOf(event, user), userCode, Date.now());
		forgetDeviceLogin(cookies, services().config);
		redirect(303, report.ok ? '/device/error?reason=reported' : '/device/error?reason=expired');
	}
};
