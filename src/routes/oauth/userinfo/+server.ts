import { userinfoEndpoint } from '#lib/server/oauth-endpoints.ts';
import { requestContext, serveSafely } from '#lib/server/http.ts';
import { methodNotAllowed, oauthJson } from '#lib/server/oauth-errors.ts';
import { services } from '#lib/server/services.ts';
import type { RequestHandler } from './$types';

const serve: RequestHandler = (event) => serveSafely(() => userinfoEndpoint(services(), requestContext(event)));

export const GET = serve;
export const POST = serve;
export const fallback: RequestHandler = () => oauthJson(methodNotAllowed('GET, POST'));
