import { json } from '@sveltejs/kit';
import { now } from '#lib/server/core/clock.ts';
import { readiness } from '#lib/server/ops/probes.ts';
import type { RequestHandler } from './$types';

/** Readiness: the database answers, its schema is current and the signing keys open. */
export const GET: RequestHandler = async ({ locals }) => {
	const { status, body } = await readiness(locals.services, now());
	return json(body, { status, headers: { 'Cache-Control': 'no-store' } });
};
