import { json } from '@sveltejs/kit';
import { readiness } from '#lib/server/probes.ts';
import { services } from '#lib/server/services.ts';
import type { RequestHandler } from './$types';

/** Readiness: the database answers and its schema is current. */
export const GET: RequestHandler = async () => {
	const { status, body } = await readiness(services());
	return json(body, { status, headers: { 'Cache-Control': 'no-store' } });
};
