import { userinfoEndpoint } from '#lib/server/oauth/endpoints.ts';
import { oauthAnswer, serveQuery } from '#lib/server/oauth/http.ts';
import { methodNotAllowed } from '#lib/server/oauth/errors.ts';
import type { RequestHandler } from './$types';

const serve: RequestHandler = (event) => serveQuery(event, userinfoEndpoint);

export const GET = serve;
export const POST = serve;
export const fallback: RequestHandler = (event) => oauthAnswer(event, methodNotAllowed('GET, POST'));
