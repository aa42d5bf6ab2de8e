import { error, fail, redirect } from '@sveltejs/kit';
import {
	activeGrants,
	approveOnBehalf,
	denyAsAdmin,
	pendingAuthorizations,
	revokeApprovalAsAdmin,
	revokeGrantAsAdmin,
	uncollectedApprovals
} from '#lib/server/admin.ts';
import { auditPage } from '#lib/server/audit.ts';
import { cookieName } from '#lib/server/device-login.ts';
import { actorOf, readForm } from '#lib/server/http.ts';
import { services } from '#lib/server/services.ts';
import { formatUserCode, normalizeUserCode } from '#lib/server/user-code.ts';
import type { Actions, PageServerLoad, RequestEvent } from './$types';

/** A decision's outcome, shown once on the /admin the browser is sent back to (post, redirect, get). */
const NOTICE_COOKIE = 'doorcode_admin_notice';

function noticeAfterRedirect(event: RequestEvent, notice: string): never {
	const { config } = services();
	event.cookies.set(cookieName(config, NOTICE_COOKIE), notice, { path: '/', httpOnly: true, sameSite: 'lax', secure: config.secure, maxAge: 60 });
	redirect(303, '/admin');
}

function takeNotice({ cookies }: Parameters<PageServerLoad>[0]): string | null {
	const name = cookieName(services().config, NOTICE_COOKIE);
	const notice = cookies.get(name) ?? null;
	if (notice !== null) cookies.delete(name, { path: '/', secure: services().config.secure });
	return notice?.slice(0, 200) ?? null;
}

function adminOf(event: RequestEvent | Parameters<PageServerLoad>[0]) {
	const user = event.locals.user;
	if (!user) redirect(303, '/login?return_to=%2Fadmin');
	if (!user.isAdmin) error(403, `This page is for doorcode admins. You are signed in as ${user.sub}; an operator can add you to ADMIN_SUBJECTS.`);
	return user;
}

export const load: PageServerLoad = (event) => {
	adminOf(event);
	const { url } = event;
	const now = Date.now();
	const { clients } = services();
	const pending = pendingAuthorizations(services(), now).map((row) => ({
		userCode: formatUserCode(row.user_code),
		clientName: clients.get(row.client_id)?.name ?? row.client_id,
		scope: row.scope,
		createdAt: row.created_at,
		expiresAt: row.expires_at,
		requesterIp: row.requester_ip,
		requesterUserAgent: row.requester_user_agent
	}));
	const code = normalizeUserCode(url.searchParams.get('code') ?? '');
	const selectedRow = code ? services().store.findLiveDeviceAuthorization(code, now) : undefined;
	const selected = selectedRow && {
		userCode: formatUserCode(selectedRow.user_code),
		clientName: clients.get(selectedRow.client_id)?.name ?? selectedRow.client_id,
		clientId: selectedRow.client_id,
		scopes: selectedRow.scope.split(' ').filter(Boolean),
		createdAt: selectedRow.created_at,
		requesterIp: selectedRow.requester_ip,
		requesterUserAgent: selectedRow.requester_user_agent
	};
	const filter = url.searchParams.get('filter') ?? '';
	return {
		now,
		notice: takeNotice(event),
		pending,
		uncollected: uncollectedApprovals(services(), now),
		lookedUp: url.searchParams.has('code'),
		selected: selected ?? null,
		filter,
		grants: activeGrants(services(), filter, now),
		clients: services().config.clients.map(({ id, name, type, scopes }) => ({ id, name, type, scopes })),
		audit: auditPage(services(), url.searchParams.get('page'))
	};
};

async function fields(event: RequestEvent) {
	const form = await readForm(event.request);
	const text = (name: string) => {
		const value = form.get(name);
		return typeof value === 'string' ? value : '';
	};
	return { form, text };
}

export const actions: Actions = {
	find: async (event) => {
		adminOf(event);
		const { text } = await fields(event);
		const code = normalizeUserCode(text('code'));
		if (!code) return fail(400, { findError: 'That is not a code: it has 8 letters, like BCDF-GHJK.' });
		redirect(303, `/admin?code=${code}`);
	},
	approve: async (event) => {
		const admin = adminOf(event);
		const { form, text } = await fields(event);
		const decision = approveOnBehalf(
			services(),
			actorOf(event, admin),
			{
				userCode: text('user_code'),
				owner: text('owner'),
				label: text('label'),
				scopes: form.getAll('scope').filter((s): s is string => typeof s === 'string')
			},
			Date.now()
		);
		if (!decision.ok) {
			return fail(400, {
				decisionError: 'message' in decision ? decision.message : 'That code is not pending any more.',
				owner: text('owner').slice(0, 254),
				label: text('label').slice(0, 80)
			});
		}
		noticeAfterRedirect(event, `Approved ${formatUserCode(decision.authorization.user_code)}: the device will receive its tokens at its next poll.`);
	},
	deny: async (event) => {
		const admin = adminOf(event);
		const { text } = await fields(event);
		const decision = denyAsAdmin(services(), actorOf(event, admin), text('user_code'), Date.now());
		if (!decision.ok) return fail(400, { decisionError: 'message' in decision ? decision.message : 'That code is not pending any more.' });
		noticeAfterRedirect(event, `Denied ${formatUserCode(decision.authorization.user_code)}: the device is told at its next poll.`);
	},
	revoke: async (event) => {
		const admin = adminOf(event);
		const { text } = await fields(event);
		// A collected device is a grant; an approval its CLI has not collected yet has no grant so far.
		const revoke = text('approval') ? revokeApprovalAsAdmin : revokeGrantAsAdmin;
		const id = Number(text('approval') || text('grant'));
		if (!Number.isSafeInteger(id) || !revoke(services(), actorOf(event, admin), id, Date.now())) {
			return fail(404, { revokeError: 'That grant does not exist or was already revoked.' });
		}
		return { revoked: true };
	}
};
