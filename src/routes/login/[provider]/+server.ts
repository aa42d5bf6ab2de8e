import { error, redirect } from '@sveltejs/kit';
import { cookieName, safeReturnTo } from '#lib/server/device-login.ts';
import { isProviderId } from '#lib/server/providers.ts';
import { services } from '#lib/server/services.ts';
import { beginSignIn, SIGN_IN_COOKIES } from '#lib/server/sign-in.ts';
import type { RequestHandler } from './$types';

/** Short-lived cookies that carry state, PKCE verifier and return path to the callback. */
const SIGN_IN_COOKIE_SECONDS = 10 * 60;

export const GET: RequestHandler = ({ params, url, cookies }) => {
	if (!isProviderId(params.provider)) error(404, 'Unknown sign-in provider.');
	const { config } = services();
	const start = beginSignIn(services(), params.provider);
	if (!start.ok) error(404, 'That sign-in provider is not configured here.');
	const options = { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: config.secure, maxAge: SIGN_IN_COOKIE_SECONDS };
	cookies.set(cookieName(config, SIGN_IN_COOKIES.state), start.state, options);
	cookies.set(cookieName(config, SIGN_IN_COOKIES.codeVerifier), start.codeVerifier, options);
	cookies.set(cookieName(config, SIGN_IN_COOKIES.returnTo), safeReturnTo(url.searchParams.get('return_to'), '/account'), options);
	redirect(302, start.url.toString(), { external: [start.url.origin] });
};
