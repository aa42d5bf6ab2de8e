import { openidConfiguration } from '#lib/server/oauth/endpoints.ts';
import { serveQuery } from '#lib/server/oauth/http.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) => serveQuery(event, async (services) => openidConfiguration(services));
