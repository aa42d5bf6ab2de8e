import { redirect } from '@sveltejs/kit';
import { approveDeviceAuthorization, denyDeviceAuthorization, findPendingAuthorization } from '#lib/server/device-authorizations.ts';
import { deviceLoginInProgress, forgetDeviceLogin } from '#lib/server/device-login.ts';
import { actorOf } from '#lib/server/http.ts';
import { services } from '#lib/server/services.ts';
import { formatUserCode } from '#lib/server/user-code.ts';
import type { Actions, PageServerLoad, RequestEvent } from './$types';

function signedInUser(locals: App.Locals, url: URL) {
	if (!locals.user) redirect(303, `/login?return_to=${encodeURIComponent(url.pathname)}`);
	return locals.user;
}

function userCodeInProgress(cookies: RequestEvent['cookies']) {
	const userCode = deviceLoginInProgress(cookies);
	if (!userCode) redirect(303, '/device');
	return userCode;
}

export const load: PageServerLoad = ({ locals, url, cookies }) => {
	const userCode = userCodeInProgress(cookies);
	const user = signedInUser(locals, url);
	const { clients } = services();
	const authorization = findPendingAuthorization(services(), userCode, Date.now());
	if (!authorization) {
		forgetDeviceLogin(cookies);
		redirect(303, '/device/error?reason=expired');
	}
	const client = clients.get(authorization.client_id);
	return {
		userCode: formatUserCode(authorization.user_code),
		clientName: client?.name ?? authorization.client_id,
		clientId: authorization.client_id,
		scopes: authorization.scope.split(' ').filter(Boolean),
		requestedAt: authorization.created_at,
		expiresAt: authorization.expires_at,
		requesterIp: authorization.requester_ip,
		requesterUserAgent: authorization.requester_user_agent,
		signedInAs: user.name ?? user.sub,
		sub: user.sub
	};
};

export const actions: Actions = {
	approve: (event) => {
		const { locals, url, cookies } = event;
		const userCode = userCodeInProgress(cookies);
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
		forgetDeviceLogin(cookies);
		redirect(303, decision.ok ? `/device/success?code=${userCode}` : '/device/error?reason=expired');
	},
	deny: (event) => {
		const { locals, url, cookies } = event;
		const userCode = userCodeInProgress(cookies);
		const user = signedInUser(locals, url);
		const decision = denyDeviceAuthorization(services(), actorOf(event, user), userCode, 'user', Date.now());
		forgetDeviceLogin(cookies);
		redirect(303, decision.ok ? '/device/error?reason=denied' : '/device/error?reason=expired');
	}
};
