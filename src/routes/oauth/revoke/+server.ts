import { revocationEndpoint } from '#lib/server/oauth-endpoints.ts';
import { servePost } from '#lib/server/http.ts';
import { methodNotAllowed, oauthJson } from '#lib/server/oauth-errors.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = (event) => servePost(event, revocationEndpoint);
export const fallback: RequestHandler = () => oauthJson(methodNotAllowed('POST'));
