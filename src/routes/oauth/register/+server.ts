import { registerClient, registrationOpen } from '#lib/server/oauth/client-registration.ts';
import { methodNotAllowed, noSuchEndpoint } from '#lib/server/oauth/errors.ts';
import { oauthAnswer, serveJsonObject } from '#lib/server/oauth/http.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = (event) => serveJsonObject(event, registerClient);
export const fallback: RequestHandler = (event) => oauthAnswer(event, registrationOpen(event.locals.services) ? methodNotAllowed('POST') : noSuchEndpoint());
