import { redirect } from '@sveltejs/kit';
import { services } from '#lib/server/services.ts';
import { invalidateSession, sessionCookieName } from '#lib/server/sessions.ts';
import type { Actions } from './$types';

export const load = () => redirect(303, '/');

export const actions: Actions = {
	default: ({ cookies, locals }) => {
		if (locals.sessionToken) invalidateSession(services(), locals.sessionToken);
		cookies.delete(sessionCookieName(services().config.secure), { path: '/', secure: services().config.secure });
		redirect(303, '/');
	}
};
