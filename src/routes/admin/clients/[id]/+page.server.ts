import { error, fail, redirect } from '@sveltejs/kit';
import { now } from '#lib/server/core/clock.ts';
import { clientPage, editClientAsAdmin, formValuesFrom, GRANT_CHOICES, refusalSentence } from '#lib/server/browser/admin-clients.ts';
import { noticeCookie } from '#lib/server/browser/cookies.ts';
import { adminOf, readForm } from '#lib/server/browser/forms.ts';
import { disableClient, enableClient, rotateClientSecret, type ClientChangeResult } from '#lib/server/oauth/client-registry.ts';
import type { Actions, PageServerLoad, RequestEvent } from './$types';

const pagePath = (id: string) => `/admin/clients/${encodeURIComponent(id)}`;
const editorOf = (event: RequestEvent) => {
	const admin = adminOf(event, pagePath(event.params.id));
	return { actor: admin.sub, ip: admin.ip };
};

/** Post, redirect, get, with a notice; a refusal is said on the page. */
function answer(event: RequestEvent, result: ClientChangeResult, notice: string) {
	if (!result.ok) return fail(result.reason === 'not_found' ? 404 : 400, { error: refusalSentence('Not changed', result) });
	// A new secret is shown in this answer, once: no redirect may lose it.
	if (result.secret) return { secret: result.secret };
	noticeCookie.set(event.cookies, event.locals.services.config, notice);
	redirect(303, pagePath(event.params.id));
}

export const load: PageServerLoad = async (event) => {
	adminOf(event, pagePath(event.params.id));
	const client = await clientPage(event.locals.services, event.params.id);
	if (!client) error(404, `There is no client "${event.params.id.slice(0, 64)}". It may have been deleted.`);
	return { notice: noticeCookie.take(event.cookies, event.locals.services.config), client, grantChoices: GRANT_CHOICES };
};

export const actions: Actions = {
	save: async (event) => {
		const editor = editorOf(event);
		const values = { ...formValuesFrom(await readForm(event.request)), id: event.params.id };
		const result = await editClientAsAdmin(event.locals.services, editor, values, now());
		if (!result.ok) return fail(result.reason === 'not_found' ? 404 : 400, { error: refusalSentence('Not saved', result), values });
		return answer(event, result, `Saved ${event.params.id}: every instance follows within 2 seconds.`);
	},
	disable: async (event) =>
		answer(
			event,
			await disableClient(event.locals.services, editorOf(event), event.params.id, now()),
			`Disabled ${event.params.id}: it gets invalid_client everywhere and its tokens stop working.`
		),
	enable: async (event) =>
		answer(event, await enableClient(event.locals.services, editorOf(event), event.params.id, now()), `Enabled ${event.params.id}: it works again.`),
	rotateSecret: async (event) => answer(event, await rotateClientSecret(event.locals.services, editorOf(event), event.params.id, now()), '')
};
