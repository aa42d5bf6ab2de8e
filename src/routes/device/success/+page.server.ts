import { pickupReceipt } from '#lib/server/browser/account.ts';
import { normalizeUserCode } from '#lib/server/oauth/user-code.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ url, locals }) => {
	const userCode = normalizeUserCode(url.searchParams.get('code') ?? '');
	const receipt = userCode && locals.user ? await pickupReceipt(locals.services, userCode, locals.user.id) : null;
	return { userCode, receipt };
};
