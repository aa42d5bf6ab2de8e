import { describeFailure } from '#lib/server/browser/sign-in.ts';
import type { PageServerLoad } from './$types';

/** Why /device/error is shown: each reason has its own words on this page. */
type DeviceErrorReason = 'denied' | 'expired' | 'provider_denied' | 'provider_failed' | 'state' | 'claimed' | 'reported' | 'limited';

const MESSAGES: Record<DeviceErrorReason, { title: string; body: string }> = {
	denied: {
		title: 'Sign-in denied',
		body: 'You denied this request, so the device was not signed in. If that was a mistake, run the login command again.'
	},
	expired: {
		title: 'This code is no longer valid',
		body: 'The code expired, was already used, or does not exist.'
	},
	provider_denied: {
		title: 'Sign-in cancelled at the provider',
		body: 'The sign-in was cancelled or refused at the identity provider, so the device was not signed in.'
	},
	provider_failed: {
		title: 'Sign-in failed at the provider',
		body: 'The identity provider could not complete the sign-in, so the device was not signed in.'
	},
	claimed: {
		title: 'Someone else is confirming this code',
		body: 'Another signed-in person opened this code first, so only they can approve or deny it. If that is not expected, do not approve anything.'
	},
	reported: {
		title: 'Thank you: the login was stopped',
		body: 'The code was denied and reported, and new codes from the address that requested it are refused for a while. Nothing was signed in.'
	},
	limited: {
		title: 'Too many wrong codes',
		body: 'Too many wrong codes were entered from this network or browser. Wait a few minutes, then enter the code from your device again.'
	},
	state: {
		title: 'The sign-in could not be completed',
		body: 'The sign-in expired or was started in another browser, so the device was not signed in.'
	}
};

export const load: PageServerLoad = ({ url, locals }) => {
	const given = url.searchParams.get('reason');
	const reason = (Object.keys(MESSAGES) as DeviceErrorReason[]).find((known) => known === given) ?? 'expired';
	// What happened at the provider, in fixed words: the query names a configured provider and a known problem, never free text.
	const detail = reason === 'provider_failed' ? describeFailure(locals.services.config, url.searchParams) : null;
	return { reason, message: MESSAGES[reason], detail };
};
