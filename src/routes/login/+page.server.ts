import { safeReturnTo } from '#lib/server/browser/cookies.ts';
import { PROVIDER_IDS } from '#lib/server/browser/providers.ts';
import type { PageServerLoad } from './$types';

const ERRORS: Record<string, string> = {
	provider_denied: 'The sign-in was cancelled or refused at the provider. You can try again.',
	provider_failed: 'The sign-in at the provider failed. You can try again.',
	state: 'That sign-in expired or was started in another browser. Please try again.'
};

export const load: PageServerLoad = ({ url, locals }) => {
	const { config } = locals.services;
	const returnTo = safeReturnTo(url.searchParams.get('return_to'), '/account');
	return {
		returnTo,
		providers: PROVIDER_IDS.flatMap((id) => (config.providers[id] ? [{ id, name: config.providers[id].name }] : [])),
		devIdp: config.devIdp,
		error: ERRORS[url.searchParams.get('error') ?? ''] ?? null,
		signedInAs: locals.user ? (locals.user.name ?? locals.user.sub) : null
	};
};
