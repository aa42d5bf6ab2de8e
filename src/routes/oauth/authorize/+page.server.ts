import { error, fail, redirect } from '@sveltejs/kit';
import { now } from '#lib/server/core/clock.ts';
import { approveConsent, openConsent } from '#lib/server/browser/consent.ts';
import { sessionCookie } from '#lib/server/browser/cookies.ts';
import { actorOf } from '#lib/server/browser/forms.ts';
import { invalidateSession } from '#lib/server/browser/sessions.ts';
import { anotherAccountLogin } from '#lib/server/browser/sign-in.ts';
import { checkAuthorizationRequest, denyAuthorizationRequest } from '#lib/server/oauth/authorization-requests.ts';
import type { Actions, PageServerLoad, RequestEvent } from './$types';

type Event = RequestEvent | Parameters<PageServerLoad>[0];

/**
 * The checked request (its parameters stay in the URL: the page's forms post to it) and who is
 * signed in. An unknown client or redirect_uri is an error page; any other problem goes back to
 * the client at its redirect_uri; nobody signed in signs in first and comes back here.
 */
function consentRequest(event: Event) {
	const { locals, url } = event;
	const check = checkAuthorizationRequest(locals.services, url.searchParams);
	if (!check.ok) {
		if ('page' in check) error(400, check.page);
		toClient(check.redirect);
	}
	if (!locals.user) redirect(303, `/login?return_to=${encodeURIComponent(requestPath(check.request.params))}`);
	return { request: check.request, user: locals.user, actor: actorOf(event, locals.user) };
}

/** The answer goes to the client's redirect_uri, which checkAuthorizationRequest found registered. */
function toClient(location: string): never {
	redirect(303, location, { external: true });
}

/** This page for a request, without a form action's name. */
const requestPath = (params: Record<string, string>) => `/oauth/authorize?${new URLSearchParams(params)}`;

export const load: PageServerLoad = async (event) => {
	const { request, user, actor } = consentRequest(event);
	// After a refused Approve this page is shown again in the same request: that refusal is audited already.
	return openConsent(event.locals.services, request, user, actor, now(), { recordRefusal: event.request.method !== 'POST' });
};

export const actions: Actions = {
	approve: async (event) => {
		const { request, user, actor } = consentRequest(event);
		const approval = await approveConsent(event.locals.services, request, user, actor, now());
		// The page shown again says why, as it did before Approve was sent.
		if (!approval.ok) return fail(403);
		toClient(approval.location);
	},
	deny: async (event) => {
		const { request, actor } = consentRequest(event);
		toClient(await denyAuthorizationRequest(event.locals.services, request, actor, now()));
	},
	/** "Sign in with another account": sign out, then back to this request once signed in again, letting the provider ask which account. */
	switchAccount: async (event) => {
		const { request } = consentRequest(event);
		const { cookies, locals } = event;
		if (locals.sessionToken) await invalidateSession(locals.services, locals.sessionToken);
		sessionCookie.delete(cookies, locals.services.config);
		redirect(303, anotherAccountLogin(requestPath(request.params)));
	}
};
