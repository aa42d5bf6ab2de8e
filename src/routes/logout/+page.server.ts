import { redirect } from '@sveltejs/kit';
import { sessionCookie } from '#lib/server/browser/cookies.ts';
import { invalidateSession } from '#lib/server/browser/sessions.ts';
import type { Actions } from './$types';

export const load = () => redirect(303, '/');

export const actions: Actions = {
	default: async ({ cookies, locals }) => {
		if (locals.sessionToken) await invalidateSession(locals.services, locals.sessionToken);
		sessionCookie.delete(cookies, locals.services.config);
		redirect(303, '/');
	}
};
