import { randomUUID } from 'node:crypto';
import { FAST_PATH_KEY, handToServer } from '../core/server-hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { responseHeaders } from '../core/headers';
import { answerSafely, contextFrom, type OAuthEndpoint } from './http';
import { logRequest } from '../core/log';
import { deviceAuthorizationEndpoint, tokenEndpoint } from './endpoints';
import { methodNotAllowed, payloadTooLarge, serializeOAuth, unreadableBody, type OAuthResult } from './errors';
import { MAX_OAUTH_BODY_BYTES, parseParams } from './request-params';
import { services } from '../core/services';

/**
 * The hot path: every waiting CLI polls /oauth/token every few seconds, and whole
 * classes ask /oauth/device_authorization for codes at once. These two POSTs are
 * served straight from node:http, before SvelteKit builds a Request, runs hooks and
 * routes — through the same adapter (http.ts) as the routes in src/routes/oauth/,
 * which still serve them under `vite dev`: the same context, answers, headers and log line.
 */
const FAST_ROUTES: Record<string, OAuthEndpoint> = {
	'/oauth/token': tokenEndpoint,
	'/oauth/device_authorization': deviceAuthorizationEndpoint
};

/** Beyond this an oversized body is no longer drained to keep the connection; it is closed. */
const MAX_DRAINED_BYTES = 1024 * 1024;

/**
 * The one method Node parses that the fetch API's Request cannot carry (CONNECT never
 * reaches a request handler, TRACK fails Node's parser), so SvelteKit would answer it
 * with a plain-text 400: on the API it gets the JSON 405 every other wrong method gets.
 */
const METHOD_FETCH_REFUSES = 'TRACE';
/** The log names a route, never a raw path someone typed; each with the methods it answers. */
const API_ROUTES: Record<string, string> = {
	'/oauth/device_authorization': 'POST',
	'/oauth/token': 'POST',
	'/oauth/revoke': 'POST',
	'/oauth/introspect': 'POST',
	'/oauth/userinfo': 'GET, POST',
	'/.well-known/oauth-authorization-server': 'GET',
	'/.well-known/openid-configuration': 'GET',
	'/.well-known/jwks.json': 'GET'
};

/** Serves the request when it is one of the hot POSTs; false hands it on to SvelteKit. */
export function serveFast(req: IncomingMessage, res: ServerResponse): boolean {
	if (!req.url || !req.method) return false;
	const route = req.url.split('?', 1)[0];
	if (req.method === METHOD_FETCH_REFUSES && (route.startsWith('/oauth/') || route.startsWith('/.well-known/'))) {
		res.shouldKeepAlive = false;
		const allowed = API_ROUTES[route] ?? (route.startsWith('/oauth/') ? 'POST' : 'GET');
		send(res, req.method, route in API_ROUTES ? route : 'unmatched', methodNotAllowed(allowed), performance.now());
		req.resume();
		return true;
	}
	if (req.method !== 'POST') return false;
	const endpoint = FAST_ROUTES[route];
	if (!endpoint) return false;
	const started = performance.now();
	const answer = (result: OAuthResult) => send(res, 'POST', route, result, started);
	const tooLarge = () => answer(payloadTooLarge(MAX_OAUTH_BODY_BYTES));
	if (Number(req.headers['content-length'] ?? 0) > MAX_DRAINED_BYTES) {
		// Too big to be worth reading: answer, then close the connection.
		res.shouldKeepAlive = false;
		tooLarge();
		req.resume();
		return true;
	}
	// An oversized body is read to its end and dropped before the 413 goes out: answering
	// while the client is still sending would reset the connection under it.
	const chunks: Buffer[] = [];
	let size = 0;
	req.on('data', (chunk: Buffer) => {
		size += chunk.length;
		if (size <= MAX_OAUTH_BODY_BYTES) chunks.push(chunk);
		else if (size > MAX_DRAINED_BYTES && !res.headersSent) {
			res.shouldKeepAlive = false;
			tooLarge();
		}
	});
	req.on('end', () => {
		if (res.headersSent) return;
		if (size > MAX_OAUTH_BODY_BYTES) return tooLarge();
		const parsed = parseParams(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), req.headers['content-type']);
		if (!parsed.ok) return answer(parsed.error);
		void answerSafely(() => endpoint(services(), parsed.params, contextOf(req))).then(answer);
	});
	req.on('error', () => {
		if (!res.headersSent) answer(unreadableBody());
	});
	return true;
}

function contextOf(req: IncomingMessage) {
	return contextFrom(
		req.method ?? 'POST',
		req.socket.remoteAddress ?? '',
		(name) => {
			const value = req.headers[name];
			return Array.isArray(value) ? value.join(',') : (value ?? null);
		},
		services().config
	);
}

function send(res: ServerResponse, method: string, route: string, result: OAuthResult, started: number): void {
	if (res.destroyed) return;
	const id = randomUUID();
	const { status, headers, body } = serializeOAuth(result, responseHeaders(services().config, id));
	headers['Content-Length'] = String(Buffer.byteLength(body));
	res.writeHead(status, headers);
	res.end(body);
	logRequest(id, method, route, result.status, started);
}

/** Hands server.js the fast path once start-up is done. */
export function registerFastPath(): void {
	handToServer(FAST_PATH_KEY, serveFast);
}
