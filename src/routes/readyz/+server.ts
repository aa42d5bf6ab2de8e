import { json } from '@sveltejs/kit';
import { now } from '#lib/server/core/clock.ts';
import { readiness } from '#lib/server/ops/probes.ts';
import { services } from '#lib/server/core/services.ts';
import type { RequestHandler } from './$types';

/** Readiness: the database answers, its schema is current and the signing keys open. */
export const GET: RequestHandler = async () => {
	const { status, body } = await readiness(services(), now());
	return json(body, { status, headers: { 'Cache-Control': 'no-store' } });
};
