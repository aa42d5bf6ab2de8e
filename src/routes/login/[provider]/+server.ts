import { error, redirect } from '@sveltejs/kit';
import { safeReturnTo, signInCookies } from '#lib/server/browser/cookies.ts';
import { isProviderId } from '#lib/server/browser/providers.ts';
import { beginSignIn } from '#lib/server/browser/sign-in.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = ({ params, url, cookies, locals }) => {
	if (!isProviderId(params.provider)) error(404, 'Unknown sign-in provider.');
	const start = beginSignIn(locals.services, params.provider);
	if (!start.ok) error(404, 'That sign-in provider is not configured here.');
	const returnTo = safeReturnTo(url.searchParams.get('return_to'), '/account');
	signInCookies.set(cookies, locals.services.config, { state: start.state, codeVerifier: start.codeVerifier, returnTo });
	redirect(302, start.url.toString(), { external: [start.url.origin] });
};
