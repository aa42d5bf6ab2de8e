import { deleteRegisteredClient, readRegisteredClient, registrationOpen, updateRegisteredClient } from '#lib/server/oauth/client-registration.ts';
import { methodNotAllowed, noSuchEndpoint } from '#lib/server/oauth/errors.ts';
import { oauthAnswer, serveJsonObject, serveQuery } from '#lib/server/oauth/http.ts';
import type { RequestHandler } from './$types';

/** RFC 7592's client configuration endpoint, by the registration access token. */
export const GET: RequestHandler = (event) => serveQuery(event, (services, context) => readRegisteredClient(services, event.params.client_id, context));
export const PUT: RequestHandler = (event) =>
	serveJsonObject(event, (services, body, context) => updateRegisteredClient(services, event.params.client_id, body, context));
export const DELETE: RequestHandler = (event) => serveQuery(event, (services, context) => deleteRegisteredClient(services, event.params.client_id, context));
export const fallback: RequestHandler = (event) =>
	oauthAnswer(event, registrationOpen(event.locals.services) ? methodNotAllowed('GET, PUT, DELETE') : noSuchEndpoint());
