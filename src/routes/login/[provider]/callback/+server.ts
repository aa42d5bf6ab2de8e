import { error, redirect } from '@sveltejs/kit';
import { now } from '#lib/server/core/clock.ts';
import { findProvider } from '#lib/server/core/providers.ts';
import { browserId, deviceLoginCookie, safeReturnTo, sessionCookie, signInCookies } from '#lib/server/browser/cookies.ts';
import { requestContext } from '#lib/server/oauth/http.ts';
import { invalidateSession } from '#lib/server/browser/sessions.ts';
import { completeCallback, failurePage } from '#lib/server/browser/sign-in.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async (event) => {
	const { params, url, cookies, locals } = event;
	const { config } = event.locals.services;
	if (!findProvider(config.providers, params.provider)) error(404, 'Unknown sign-in provider.');
	const { returnTo, ...started } = signInCookies.read(cookies, config);
	const deviceHandle = deviceLoginCookie.read(cookies, config);
	const source = { ip: requestContext(event).ip, browser: browserId(cookies, config), actor: locals.user?.sub ?? null };
	const outcome = await completeCallback(event.locals.services, {
		providerId: params.provider,
		query: url.searchParams,
		started,
		deviceLogin: deviceHandle ? { handle: deviceHandle, source } : null,
		signedInUserId: locals.user?.id ?? null,
		now: now()
	});
	// A forged callback must not end the sign-in this browser really started.
	if (outcome.ok || outcome.reason !== 'state') signInCookies.delete(cookies, config);
	if (!outcome.ok) redirect(303, failurePage(params.provider, outcome, deviceHandle !== null));
	// A new session on every sign-in: no session fixation.
	if (locals.sessionToken) await invalidateSession(event.locals.services, locals.sessionToken);
	sessionCookie.set(cookies, config, outcome.session.token, outcome.session.expiresAt);
	redirect(303, safeReturnTo(returnTo, deviceHandle ? '/device/confirm' : '/account'));
};
