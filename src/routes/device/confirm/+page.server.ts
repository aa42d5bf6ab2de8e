import { fail, redirect } from '@sveltejs/kit';
import { now } from '#lib/server/core/clock.ts';
import { approveOwnDevice, openConfirmation } from '#lib/server/browser/confirmation.ts';
import { browserId, deviceLoginCookie, sessionCookie } from '#lib/server/browser/cookies.ts';
import { invalidateSession } from '#lib/server/browser/sessions.ts';
import { anotherAccountLogin } from '#lib/server/browser/sign-in.ts';
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
	const { userCode, user, actor } = await deviceLoginOf(event);
	// After a refused Approve this page is shown again in the same request: that refusal is audited already.
	const recordRefusal = event.request.method !== 'POST';
	const confirmation = await openConfirmation(event.locals.services, userCode, user, actor, now(), { recordRefusal });
	if (!confirmation.ok) finish(event, confirmation.reason);
	return confirmation.view;
};

export const actions: Actions = {
	approve: async (event) => {
		const { userCode, user, actor } = await deviceLoginOf(event);
		const decision = await approveOwnDevice(event.locals.services, user, actor, userCode, now());
		// The page shown again says why, as it did before Approve was sent.
		if ('refusal' in decision) return fail(403);
		finish(event, 'expired', decision.ok ? `/device/success?code=${userCode}` : undefined);
	},
	deny: async (event) => {
		const { userCode, actor } = await deviceLoginOf(event);
		const decision = await denyDeviceAuthorization(event.locals.services, actor, userCode, 'user', now());
		finish(event, decision.ok ? 'denied' : 'expired');
	},
	/** "Sign in with another account": sign out, then back to this code once signed in again, letting the provider ask which account. */
	switchAccount: async ({ cookies, locals, url }) => {
		if (locals.sessionToken) await invalidateSession(locals.services, locals.sessionToken);
		sessionCookie.delete(cookies, locals.services.config);
		redirect(303, anotherAccountLogin(url.pathname));
	},
	report: async (event) => {
		const { userCode, actor } = await deviceLoginOf(event);
		const report = await reportDeviceAuthorization(event.locals.services, actor, userCode, now());
		finish(event, report.ok ? 'reported' : 'expired');
	}
};
