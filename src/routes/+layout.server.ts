import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = ({ locals }) => ({
	user: locals.user ? { name: locals.user.name ?? locals.user.sub, sub: locals.user.sub, isAdmin: locals.user.isAdmin } : null
});
