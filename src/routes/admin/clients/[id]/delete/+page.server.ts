import { error, fail, redirect } from '@sveltejs/kit';
import { now } from '#lib/server/core/clock.ts';
import { deletionPreview, refusalSentence } from '#lib/server/browser/admin-clients.ts';
import { noticeCookie } from '#lib/server/browser/cookies.ts';
import { adminOf } from '#lib/server/browser/forms.ts';
import { removeClient } from '#lib/server/oauth/client-registry.ts';
import type { Actions, PageServerLoad } from './$types';

const pagePath = (id: string) => `/admin/clients/${encodeURIComponent(id)}/delete`;

export const load: PageServerLoad = async (event) => {
	adminOf(event, pagePath(event.params.id));
	const preview = await deletionPreview(event.locals.services, event.params.id);
	if (!preview) error(404, `There is no client "${event.params.id.slice(0, 64)}". It may have been deleted already.`);
	return { preview };
};

export const actions: Actions = {
	default: async (event) => {
		const admin = adminOf(event, pagePath(event.params.id));
		const removed = await removeClient(event.locals.services, { actor: admin.sub, ip: admin.ip }, event.params.id, now());
		if (!removed.ok) return fail(removed.reason === 'not_found' ? 404 : 400, { error: refusalSentence('Not deleted', removed) });
		const grants = `${removed.revokedGrants} ${removed.revokedGrants === 1 ? 'grant' : 'grants'} revoked`;
		noticeCookie.set(event.cookies, event.locals.services.config, `Deleted ${event.params.id}: ${grants}.`);
		redirect(303, '/admin/clients');
	}
};
