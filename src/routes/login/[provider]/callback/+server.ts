import { error, redirect } from '@sveltejs/kit';
import { browserId, cookieName, deviceLoginInProgress, safeReturnTo } from '#lib/server/device-login.ts';
import { requestContext } from '#lib/server/http.ts';
import { isProviderId } from '#lib/server/providers.ts';
import { services } from '#lib/server/services.ts';
import { invalidateSession, sessionCookieName, sessionCookieOptions } from '#lib/server/sessions.ts';
import { completeCallback, SIGN_IN_COOKIES } from '#lib/server/sign-in.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async (event) => {
	const { params, url, cookies, locals } = event;
	if (!isProviderId(params.provider)) error(404, 'Unknown sign-in provider.');
	const { config } = services();
	const read = (name: string) => cookies.get(cookieName(config, name)) ?? null;
	const deviceHandle = deviceLoginInProgress(cookies, config);
	const returnTo = safeReturnTo(read(SIGN_IN_COOKIES.returnTo), deviceHandle ? '/device/confirm' : '/account');
	const source = { ip: requestContext(event).ip, browser: browserId(cookies, config), actor: locals.user?.sub ?? null };
	const outcome = await completeCallback(services(), {
		providerId: params.provider,
		query: url.searchParams,
		expectedState: read(SIGN_IN_COOKIES.state),
		codeVerifier: read(SIGN_IN_COOKIES.codeVerifier),
		deviceLogin: deviceHandle ? { handle: deviceHandle, source } : null,
		signedInUserId: locals.user?.user_id ?? null,
		now: Date.now()
	});
	// A forged callback must not end the sign-in this browser really started.
	if (outcome.ok || outcome.reason !== 'state') {
		for (const name of Object.values(SIGN_IN_COOKIES)) cookies.delete(cookieName(config, name), { path: '/', secure: config.secure });
	}
	if (!outcome.ok) {
		if (deviceHandle) redirect(303, `/device/error?reason=${outcome.reason}`);
		redirect(303, `/login?error=${outcome.reason}`);
	}
	// A new session on every sign-in: no session fixation.
	if (locals.sessionToken) invalidateSession(services(), locals.sessionToken);
	cookies.set(sessionCookieName(config.secure), outcome.session.token, sessionCookieOptions(config, outcome.session.expiresAt));
	redirect(303, returnTo);
};
