import { tokenEndpoint } from '#lib/server/oauth/endpoints.ts';
import { oauthAnswer, servePost } from '#lib/server/oauth/http.ts';
import { methodNotAllowed } from '#lib/server/oauth/errors.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = (event) => servePost(event, tokenEndpoint);
export const fallback: RequestHandler = (event) => oauthAnswer(event, methodNotAllowed('POST'));
