import { fail, redirect } from '@sveltejs/kit';
import { now } from '#lib/server/core/clock.ts';
import { createClientAsAdmin, formValuesFrom, GRANT_CHOICES, NEW_CLIENT_VALUES, refusalSentence } from '#lib/server/browser/admin-clients.ts';
import { noticeCookie } from '#lib/server/browser/cookies.ts';
import { adminOf, readForm } from '#lib/server/browser/forms.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	adminOf(event, '/admin/clients/new');
	return { values: NEW_CLIENT_VALUES, grantChoices: GRANT_CHOICES };
};

export const actions: Actions = {
	default: async (event) => {
		const admin = adminOf(event, '/admin/clients/new');
		const values = formValuesFrom(await readForm(event.request));
		const created = await createClientAsAdmin(event.locals.services, { actor: admin.sub, ip: admin.ip }, values, now());
		if (!created.ok) return fail(created.reason === 'id_taken' ? 409 : 400, { error: refusalSentence('Not created', created), values });
		// A confidential client's secret is shown in this answer, once: no redirect may lose it.
		if (created.secret) return { created: { id: created.client.id, name: created.client.name, secret: created.secret } };
		noticeCookie.set(event.cookies, event.locals.services.config, `Created ${created.client.id}: CLIs may use it now.`);
		redirect(303, `/admin/clients/${encodeURIComponent(created.client.id)}`);
	}
};
