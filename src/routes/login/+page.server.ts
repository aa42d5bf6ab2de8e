import { safeReturnTo } from '#lib/server/browser/cookies.ts';
import { describeFailure, signInStartPath, startOptionsOf } from '#lib/server/browser/sign-in.ts';
import type { PageServerLoad } from './$types';

const ERRORS: Record<string, string> = {
	provider_denied: 'The sign-in was cancelled or refused at the provider. You can try again.',
	provider_failed: 'The sign-in at the provider failed. You can try again.',
	state: 'That sign-in expired or was started in another browser. Please try again.'
};

export const load: PageServerLoad = ({ url, locals }) => {
	const { config } = locals.services;
	const returnTo = safeReturnTo(url.searchParams.get('return_to'), '/account');
	const error = ERRORS[url.searchParams.get('error') ?? ''] ?? null;
	const options = startOptionsOf(url.searchParams);
	return {
		anotherAccount: options.anotherAccount,
		// ORCID, Clerk, then PROVIDERS_FILE's providers in its order.
		providers: config.providers.map(({ id, name }) => ({ id, name, href: signInStartPath(id, returnTo, options) })),
		devIdp: config.devIdp,
		error: error && [describeFailure(config, url.searchParams), error].filter(Boolean).join(' '),
		signedInAs: locals.user ? (locals.user.name ?? locals.user.sub) : null
	};
};
