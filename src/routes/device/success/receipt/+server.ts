import { json } from '@sveltejs/kit';
import { pickupReceipt } from '#lib/server/browser/account.ts';
import { normalizeUserCode } from '#lib/server/oauth/user-code.ts';
import type { RequestHandler } from './$types';

/** The pickup receipt as JSON, so the success page can update itself while the CLI polls. */
export const GET: RequestHandler = async ({ url, locals }) => {
	const userCode = normalizeUserCode(url.searchParams.get('code') ?? '');
	const receipt = userCode && locals.user ? await pickupReceipt(locals.services, userCode, locals.user.id) : null;
	return json(receipt, { status: receipt ? 200 : 404, headers: { 'Cache-Control': 'no-store' } });
};
