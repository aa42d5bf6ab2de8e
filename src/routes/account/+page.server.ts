import { fail, redirect } from '@sveltejs/kit';
import { now } from '#lib/server/core/clock.ts';
import {
	createPersonalToken,
	listDevices,
	listPersonalTokens,
	listUncollectedApprovals,
	PERSONAL_TOKEN_LIFETIMES_DAYS,
	personalTokenScopes,
	revokeOwnApproval,
	revokeOwnGrant,
	signedInWith
} from '#lib/server/browser/account.ts';
import { COLLECTED_MESSAGE } from '#lib/server/oauth/device-authorizations.ts';
import { readForm } from '#lib/server/browser/forms.ts';
import { requestContext } from '#lib/server/oauth/http.ts';
import type { Actions, PageServerLoad } from './$types';

function signedInUser(locals: App.Locals) {
	if (!locals.user) redirect(303, '/login?return_to=%2Faccount');
	return locals.user;
}

export const load: PageServerLoad = async ({ locals }) => {
	const user = signedInUser(locals);
	const at = now();
	return {
		signedInWith: signedInWith(locals.services, user),
		devices: await listDevices(locals.services, user, at),
		uncollected: await listUncollectedApprovals(locals.services, user, at),
		personalTokens: await listPersonalTokens(locals.services, user, at),
		scopes: personalTokenScopes(locals.services),
		lifetimes: [...PERSONAL_TOKEN_LIFETIMES_DAYS]
	};
};

export const actions: Actions = {
	revoke: async (event) => {
		const user = signedInUser(event.locals);
		const form = await readForm(event.request);
		// A collected device is a grant; an approval its CLI has not collected yet has no grant so far.
		const approval = form.has('approval');
		const id = Number(form.get(approval ? 'approval' : 'grant'));
		const gone = () => fail(404, { revokeError: 'That device or token is not yours, or was already revoked.', collectedGrant: null });
		if (!Number.isSafeInteger(id)) return gone();
		const { ip } = requestContext(event);
		if (!approval) return (await revokeOwnGrant(event.locals.services, user, id, ip, now())) ? { revoked: true } : gone();
		const revocation = await revokeOwnApproval(event.locals.services, user, id, ip, now());
		if (revocation.outcome === 'collected') return fail(409, { revokeError: COLLECTED_MESSAGE, collectedGrant: revocation.grantId });
		return revocation.outcome === 'revoked' ? { revoked: true } : gone();
	},
	createToken: async (event) => {
		const user = signedInUser(event.locals);
		const form = await readForm(event.request);
		const name = form.get('name');
		const created = await createPersonalToken(
			event.locals.services,
			user,
			{
				name: typeof name === 'string' ? name : '',
				scopes: form.getAll('scope').filter((s): s is string => typeof s === 'string'),
				days: Number(form.get('days'))
			},
			requestContext(event).ip,
			now()
		);
		if (!created.ok) return fail(400, { createError: created.message });
		return { created: { name: created.name, token: created.token, expiresAt: created.expiresAt } };
	}
};
