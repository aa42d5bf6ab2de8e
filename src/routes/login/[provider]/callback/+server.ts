import { error, redirect } from '@sveltejs/kit';
import { deviceLoginInProgress, safeReturnTo } from '#lib/server/device-login.ts';
import { requestContext } from '#lib/server/http.ts';
import { isProviderId } from '#lib/server/providers.ts';
import { services } from '#lib/server/services.ts';
import { invalidateSession, sessionCookieName, sessionCookieOptions } from '#lib/server/sessions.ts';
import { completeCallback } from '#lib/server/sign-in.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async (event) => {
	const { params, url, cookies, locals } = event;
	if (!isProviderId(params.provider)) error(404, 'Unknown sign-in provider.');
	const cookiePath = { path: `/login/${params.provider}` };
	const deviceUserCode = deviceLoginInProgress(cookies);
	const returnTo = safeReturnTo(cookies.get('oauth_return_to'), deviceUserCode ? '/device/confirm' : '/account');
	const outcome = await completeCallback(services(), {
		providerId: params.provider,
		query: url.searchParams,
		expectedState: cookies.get('oauth_state') ?? null,
		codeVerifier: cookies.get('oauth_code_verifier') ?? null,
		deviceUserCode,
		ip: requestContext(event).ip,
		now: Date.now()
	});
	for (const name of ['oauth_state', 'oauth_code_verifier', 'oauth_return_to']) cookies.delete(name, cookiePath);
	if (!outcome.ok) {
		if (deviceUserCode) redirect(303, `/device/error?reason=${outcome.reason}`);
		redirect(303, `/login?error=${outcome.reason}`);
	}
	const { config } = services();
	// A new session on every sign-in: no session fixation.
	if (locals.sessionToken) invalidateSession(services(), locals.sessionToken);
	cookies.set(sessionCookieName(config.secure), outcome.session.token, sessionCookieOptions(config, outcome.session.expiresAt));
	redirect(303, returnTo);
};
