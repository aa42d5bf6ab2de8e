import { fail, redirect } from '@sveltejs/kit';
import { now } from '#lib/server/core/clock.ts';
import { enterUserCode } from '#lib/server/oauth/device-authorizations.ts';
import { browserId, deviceLoginCookie } from '#lib/server/browser/cookies.ts';
import { readForm } from '#lib/server/browser/forms.ts';
import { requestContext } from '#lib/server/oauth/http.ts';
import { formatUserCode, normalizeUserCode } from '#lib/server/oauth/user-code.ts';
import type { Actions, PageServerLoad } from './$types';

/** The same words for unknown, expired and used codes: the page is no oracle for guessing. */
const CODE_NOT_VALID = 'That code is not valid or no longer active. Check the code on your device, or run the login command again for a new one.';

export const load: PageServerLoad = ({ url }) => {
	// ?user_code= only fills the field; approving always takes the person's own steps.
	const prefill = url.searchParams.get('user_code') ?? '';
	const normalized = normalizeUserCode(prefill);
	return { prefill: normalized ? formatUserCode(normalized) : prefill.slice(0, 20) };
};

export const actions: Actions = {
	default: async (event) => {
		const { request, cookies } = event;
		const code = (await readForm(request)).get('code');
		if (typeof code !== 'string' || code.trim() === '') return fail(400, { code: '', message: 'Enter the code shown on your device.' });
		const at = now();
		const { config } = event.locals.services;
		const source = { ip: requestContext(event).ip, browser: browserId(cookies, config), actor: event.locals.user?.sub ?? null };
		const entry = await enterUserCode(event.locals.services, code, source, at);
		if (!entry.ok && entry.reason === 'limited') {
			event.setHeaders({ 'Retry-After': String(entry.retryAfter) });
			return fail(429, {
				code: code.slice(0, 20),
				message: `Too many wrong codes were entered from this network or browser. Wait ${waitWords(entry.retryAfter)}, then try again.`
			});
		}
		if (!entry.ok) return fail(400, { code: code.slice(0, 20), message: CODE_NOT_VALID });
		deviceLoginCookie.set(cookies, config, entry.handle, entry.authorization.expiresAt, at);
		redirect(303, '/device/confirm');
	}
};

function waitWords(seconds: number): string {
	return seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;
}
