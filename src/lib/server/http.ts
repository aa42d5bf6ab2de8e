import { isIP } from 'node:net';
import { error, type RequestEvent } from '@sveltejs/kit';
import { oauthJson, serverError, type OAuthResult } from './oauth-errors';
import { readParams, type Params } from './request-params';
import { services, type RequestContext, type Services } from './services';

/**
 * The client's address. With TRUST_PROXY=0 it is the connection's; with n proxy
 * hops in front, X-Forwarded-For's n-th entry from the right (the one the
 * outermost trusted proxy saw). Entries further left are the client's own claims.
 */
export function clientAddress(connectionAddress: string, forwardedFor: string | null, trustProxy: number): string {
	if (trustProxy === 0 || !forwardedFor) return connectionAddress;
	const hops = forwardedFor
		.split(',')
		.map((hop) => hop.trim())
		.filter(Boolean);
	if (hops.length === 0) return connectionAddress;
	const claimed = hops[Math.max(0, hops.length - trustProxy)];
	// Only an IP address counts: any other text would become a limit key and a "requested from".
	return isIP(claimed) ? claimed : connectionAddress;
}

export function requestContext(event: RequestEvent, { config }: Services = services()): RequestContext {
	let connection: string;
	try {
		connection = event.getClientAddress();
	} catch {
		connection = '';
	}
	return {
		now: Date.now(),
		ip: clientAddress(connection, event.request.headers.get('x-forwarded-for'), config.trustProxy) || null,
		userAgent: event.request.headers.get('user-agent'),
		authorization: event.request.headers.get('authorization')
	};
}

/** The signed-in person acting through a page, for decisions and the audit log. */
export function actorOf(event: RequestEvent, user: { user_id: number; sub: string }) {
	return { userId: user.user_id, sub: user.sub, ip: requestContext(event).ip };
}

type ParamsEndpoint = (services: Services, params: Params, context: RequestContext) => OAuthResult;

/** A POST to an OAuth endpoint: read the body, run the endpoint, answer JSON, never a stack trace. */
export async function servePost(event: RequestEvent, endpoint: ParamsEndpoint): Promise<Response> {
	const parsed = await readParams(event.request);
	if (!parsed.ok) return oauthJson(parsed.error);
	return serveSafely(() => endpoint(services(), parsed.params, requestContext(event)));
}

export function serveSafely(run: () => OAuthResult): Response {
	try {
		return oauthJson(run());
	} catch (error) {
		console.error(JSON.stringify({ level: 'error', msg: 'oauth endpoint failed', error: (error as Error).message }));
		return oauthJson(serverError());
	}
}

/**
 * The body of a form post. A body no form parser can read (text/plain, broken
 * multipart) is the sender's mistake: a 400 page that says so, not a 500.
 */
export async function readForm(request: Request): Promise<FormData> {
	try {
		return await request.formData();
	} catch (caught) {
		if ((caught as { status?: unknown }).status === 413) error(413, 'That form is too large to be read.');
		error(400, 'That form could not be read. Send it from the page itself.');
	}
}
