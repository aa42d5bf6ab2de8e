import { clientRows } from '#lib/server/browser/admin-clients.ts';
import { noticeCookie } from '#lib/server/browser/cookies.ts';
import { adminOf } from '#lib/server/browser/forms.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	adminOf(event, '/admin/clients');
	const { services } = event.locals;
	const search = event.url.searchParams.get('search') ?? '';
	return {
		notice: noticeCookie.take(event.cookies, services.config),
		search,
		registrationOpen: services.config.registrationToken !== null,
		clients: await clientRows(services, search)
	};
};
