import { error, fail, redirect } from '@sveltejs/kit';
import { now } from '#lib/server/core/clock.ts';
import { COLLECTED_MESSAGE } from '#lib/server/oauth/device-authorizations.ts';
import { adminOverview, approveOnBehalf, denyAsAdmin, revokeApprovalAsAdmin, revokeGrantAsAdmin } from '#lib/server/browser/admin.ts';
import { noticeCookie } from '#lib/server/browser/cookies.ts';
import { actorOf, readForm } from '#lib/server/browser/forms.ts';
import { formatUserCode, normalizeUserCode } from '#lib/server/oauth/user-code.ts';
import type { Actions, PageServerLoad, RequestEvent } from './$types';

function adminOf(event: RequestEvent | Parameters<PageServerLoad>[0]) {
	const user = event.locals.user;
	if (!user) redirect(303, '/login?return_to=%2Fadmin');
	if (!user.isAdmin) error(403, `This page is for doorcode admins. You are signed in as ${user.sub}; an operator can add you to ADMIN_SUBJECTS.`);
	return actorOf(event, user);
}

/** Post, redirect, get: a clean /admin that says once what was decided. */
function decided(event: RequestEvent, notice: string): never {
	noticeCookie.set(event.cookies, event.locals.services.config, notice);
	redirect(303, '/admin');
}

async function fields(event: RequestEvent) {
	const form = await readForm(event.request);
	const text = (name: string) => (typeof form.get(name) === 'string' ? (form.get(name) as string) : '');
	return { text, all: (name: string) => form.getAll(name).filter((value): value is string => typeof value === 'string') };
}

export const load: PageServerLoad = async (event) => {
	adminOf(event);
	const { searchParams } = event.url;
	const query = { code: searchParams.get('code'), filter: searchParams.get('filter') ?? '', page: searchParams.get('page') };
	return { notice: noticeCookie.take(event.cookies, event.locals.services.config), ...(await adminOverview(event.locals.services, query, now())) };
};

export const actions: Actions = {
	find: async (event) => {
		adminOf(event);
		const code = normalizeUserCode((await fields(event)).text('code'));
		if (!code) return fail(400, { findError: 'That is not a code: it has 8 letters, like BCDF-GHJK.' });
		redirect(303, `/admin?code=${code}`);
	},
	approve: async (event) => {
		const admin = adminOf(event);
		const { text, all } = await fields(event);
		const request = { userCode: text('user_code'), owner: text('owner'), label: text('label'), scopes: all('scope') };
		const decision = await approveOnBehalf(event.locals.services, admin, request, now());
		if (!decision.ok) {
			const message = 'message' in decision ? decision.message : 'That code is not pending any more.';
			return fail(400, { decisionError: message, owner: request.owner.slice(0, 254), label: request.label.slice(0, 80) });
		}
		decided(event, `Approved ${formatUserCode(decision.authorization.userCode)}: the device will receive its tokens at its next poll.`);
	},
	deny: async (event) => {
		const admin = adminOf(event);
		const decision = await denyAsAdmin(event.locals.services, admin, (await fields(event)).text('user_code'), now());
		if (!decision.ok) return fail(400, { decisionError: 'message' in decision ? decision.message : 'That code is not pending any more.' });
		decided(event, `Denied ${formatUserCode(decision.authorization.userCode)}: the device is told at its next poll.`);
	},
	revoke: async (event) => {
		const admin = adminOf(event);
		const { text } = await fields(event);
		// A collected device is a grant; an approval its CLI has not collected yet has no grant so far.
		const approval = text('approval') !== '';
		const id = Number(text('approval') || text('grant'));
		const gone = () => fail(404, { revokeError: 'That grant does not exist or was already revoked.', collectedGrant: null });
		if (!Number.isSafeInteger(id)) return gone();
		if (!approval) return (await revokeGrantAsAdmin(event.locals.services, admin, id, now())) ? { revoked: true } : gone();
		const revocation = await revokeApprovalAsAdmin(event.locals.services, admin, id, now());
		if (revocation.outcome === 'collected') return fail(409, { revokeError: COLLECTED_MESSAGE, collectedGrant: revocation.grantId });
		return revocation.outcome === 'revoked' ? { revoked: true } : gone();
	}
};
