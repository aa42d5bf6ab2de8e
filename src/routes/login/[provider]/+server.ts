import { error, redirect } from '@sveltejs/kit';
import { deviceLoginCookie, safeReturnTo, signInCookies } from '#lib/server/browser/cookies.ts';
import { beginSignIn, failurePage, startOptionsOf } from '#lib/server/browser/sign-in.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ params, url, cookies, locals }) => {
	const { config } = locals.services;
	const start = await beginSignIn(locals.services, params.provider, startOptionsOf(url.searchParams));
	if (!start.ok && start.reason === 'unknown') error(404, 'That sign-in provider is not configured here.');
	if (!start.ok) redirect(303, failurePage(params.provider, start, deviceLoginCookie.read(cookies, config) !== null));
	const returnTo = safeReturnTo(url.searchParams.get('return_to'), '/account');
	signInCookies.set(cookies, config, { ...start.secrets, returnTo });
	redirect(302, start.url.toString(), { external: [start.url.origin] });
};
