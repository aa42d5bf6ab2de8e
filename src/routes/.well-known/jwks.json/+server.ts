import { jsonWebKeySet } from '#lib/server/oauth-endpoints.ts';
import { serveQuery } from '#lib/server/http.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) => serveQuery(event, jsonWebKeySet);
