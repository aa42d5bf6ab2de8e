import { isIP } from 'node:net';
import { now } from '../core/clock';
import type { RequestEvent } from '@sveltejs/kit';
import type { Config } from '../core/config';
import { responseHeaders } from '../core/headers';
import { log } from '../core/log';
import { databaseUnavailable, oauthJson, serverError, type OAuthResult } from './errors';
import { readParams, type Params } from './request-params';
import { services, type RequestContext, type Services } from '../core/services';
import { DatabaseUnavailable } from '../store/store';

/**
 * The one HTTP adapter of the JSON API, for both ways a request arrives: the fast path
 * (fast-path.ts, straight from node:http) and the SvelteKit routes in src/routes/oauth/
 * (everything else, and every route under `vite dev`). Both build the request context
 * here, run the endpoint through `answerSafely`, and serialize with `serializeOAuth`.
 */

/** An endpoint of the JSON API: parsed fields in, (status, JSON) out, no framework types. */
export type OAuthEndpoint = (services: Services, params: Params, context: RequestContext) => Promise<OAuthResult>;

/**
 * The client's address. With TRUST_PROXY=0 it is the connection's; with n proxy
 * hops in front, X-Forwarded-For's n-th entry from the right (the one the
 * outermost trusted proxy saw). Entries further left are the client's own claims.
 */
export function clientAddress(connectionAddress: string, forwardedFor: string | null, trustProxy: number): string {
	const claimed = trustedHop(forwardedFor, trustProxy);
	// Only an IP address counts: any other text would become a limit key and a "requested from".
	return claimed !== null && isIP(claimed) ? claimed : connectionAddress;
}

/** What the outermost trusted proxy says the client is, as written (null when no proxy is trusted or none said). */
export function trustedHop(forwardedFor: string | null, trustProxy: number): string | null {
	if (trustProxy === 0 || !forwardedFor) return null;
	const hops = forwardedFor
		.split(',')
		.map((hop) => hop.trim())
		.filter(Boolean);
	return hops.length === 0 ? null : hops[Math.max(0, hops.length - trustProxy)];
}

/** Who is asking, from the request's method, the connection's address and the request's headers. */
export function contextFrom(method: string, connectionAddress: string, header: (name: string) => string | null, config: Config): RequestContext {
	return {
		now: now(),
		method,
		ip: clientAddress(connectionAddress, header('x-forwarded-for'), config.trustProxy) || null,
		userAgent: header('user-agent'),
		authorization: header('authorization'),
		dpop: header('dpop')
	};
}

export function requestContext(event: RequestEvent, { config }: Services = services()): RequestContext {
	let connection: string;
	try {
		connection = event.getClientAddress();
	} catch {
		connection = '';
	}
	return contextFrom(event.request.method, connection, (name) => event.request.headers.get(name), config);
}

/**
 * Runs an endpoint. A database outage answers 503 temporarily_unavailable; the unexpected
 * is logged (without the request) and answered server_error, never a stack trace.
 */
export async function answerSafely(run: () => Promise<OAuthResult>): Promise<OAuthResult> {
	try {
		return await run();
	} catch (caught) {
		if (caught instanceof DatabaseUnavailable) return databaseUnavailable();
		log({ level: 'error', msg: 'oauth endpoint failed', error: (caught as Error).message });
		return serverError();
	}
}

/** A JSON API answer through SvelteKit: the same headers as the fast path's, and this request's id. */
export function oauthAnswer(event: RequestEvent, result: OAuthResult): Response {
	return oauthJson(result, responseHeaders(services().config, event.locals.requestId));
}

/** A POST to an OAuth endpoint through SvelteKit: read the body, run the endpoint, answer JSON. */
export async function servePost(event: RequestEvent, endpoint: OAuthEndpoint): Promise<Response> {
	const parsed = await readParams(event.request);
	if (!parsed.ok) return oauthAnswer(event, parsed.error);
	return oauthAnswer(event, await answerSafely(() => endpoint(services(), parsed.params, requestContext(event))));
}

/** A GET (or body-less) OAuth endpoint through SvelteKit. */
export async function serveQuery(event: RequestEvent, run: (services: Services, context: RequestContext) => Promise<OAuthResult>): Promise<Response> {
	return oauthAnswer(event, await answerSafely(() => run(services(), requestContext(event))));
}
