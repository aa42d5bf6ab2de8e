import { redirect } from '@sveltejs/kit';
import { now } from '#lib/server/core/clock.ts';
import { approveOwnDevice, openConfirmation } from '#lib/server/browser/confirmation.ts';
import { browserId, deviceLoginCookie } from '#lib/server/browser/cookies.ts';
import { denyDeviceAuthorization, reportDeviceAuthorization, resolveDeviceLogin } from '#lib/server/oauth/device-authorizations.ts';
import { actorOf } from '#lib/server/browser/forms.ts';
import { requestContext } from '#lib/server/oauth/http.ts';
import type { Actions, PageServerLoad, RequestEvent } from './$types';

type Event = RequestEvent | Parameters<PageServerLoad>[0];

/** The code this browser entered (from its device-login cookie's handle) and who is signed in; else a redirect. */
async function deviceLoginOf(event: Event) {
	const { cookies, locals, url } = event;
	const { config } = event.locals.services;
	const handle = deviceLoginCookie.read(cookies, config);
	if (!handle) redirect(303, '/device');
	const source = { ip: requestContext(event).ip, browser: browserId(cookies, config), actor: locals.user?.sub ?? null };
	const login = await resolveDeviceLogin(event.locals.services, handle, source, now());
	if (!login.ok) finish(event, login.reason === 'limited' ? 'limited' : 'expired');
	if (!locals.user) redirect(303, `/login?return_to=${encodeURIComponent(url.pathname)}`);
	return { userCode: login.userCode, user: locals.user, actor: actorOf(event, locals.user) };
}

/** The device login is over in this browser, one way or another. */
function finish(event: Event, reason: string, to = `/device/error?reason=${reason}`): never {
	deviceLoginCookie.delete(event.cookies, event.locals.services.config);
	redirect(303, to);
}

export const load: PageServerLoad = async (event) => {
	const { userCode, user } = await deviceLoginOf(event);
	const confirmation = await openConfirmation(event.locals.services, userCode, user, requestContext(event).ip, now());
	if (!confirmation.ok) finish(event, confirmation.reason);
	return confirmation.view;
};

export const actions: Actions = {
	approve: async (event) => {
		const { userCode, actor } = await deviceLoginOf(event);
		const decision = await approveOwnDevice(event.locals.services, actor, userCode, now());
		// Refused by the client's address rule: the code stays pending, and the page says why.
		if ('refusedByAddress' in decision) redirect(303, '/device/confirm');
		finish(event, 'expired', decision.ok ? `/device/success?code=${userCode}` : undefined);
	},
	deny: async (event) => {
		const { userCode, actor } = await deviceLoginOf(event);
		const decision = await denyDeviceAuthorization(event.locals.services, actor, userCode, 'user', now());
		finish(event, decision.ok ? 'denied' : 'expired');
	},
	report: async (event) => {
		const { userCode, actor } = await deviceLoginOf(event);
		const report = await reportDeviceAuthorization(event.locals.services, actor, userCode, now());
		finish(event, report.ok ? 'reported' : 'expired');
	}
};
