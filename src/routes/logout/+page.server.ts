import { redirect } from '@sveltejs/kit';
import { sessionCookie } from '#lib/server/browser/cookies.ts';
import { services } from '#lib/server/core/services.ts';
import { invalidateSession } from '#lib/server/browser/sessions.ts';
import type { Actions } from './$types';

export const load = () => redirect(303, '/');

export const actions: Actions = {
	default: async ({ cookies, locals }) => {
		if (locals.sessionToken) await invalidateSession(services(), locals.sessionToken);
		sessionCookie.delete(cookies, services().config);
		redirect(303, '/');
	}
};
