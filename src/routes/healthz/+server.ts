import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';

/** Liveness: this process serves requests. */
export const GET: RequestHandler = () => json({ status: 'ok' }, { headers: { 'Cache-Control': 'no-store' } });
