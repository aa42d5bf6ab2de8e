// Sign-in with a browser on this machine (RFC 8252, OAuth 2.0 for native apps): the
// authorization code flow with PKCE (RFC 7636) and a loopback redirect. The CLI listens on
// 127.0.0.1 on a port the system picks, opens the browser at the authorization endpoint, takes
// the answer at http://127.0.0.1:<port>/callback, checks its state and iss (RFC 9207), and
// trades the code and its verifier for tokens bound to the login's DPoP key (dpop_jkt, RFC 9449 §10).
// The pure parts (when a browser can open, which command opens it, reading the answer) are
// exported for the tests.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { calculateJwkThumbprint } from 'jose';
import { decidePoll, DEFAULT_INTERVAL, describeNetworkError, requestCodeTokens, type Endpoints, type TokenResponse } from './device-flow.ts';
import type { DpopKey } from './dpop.ts';

/** Where the server sends the answer: the path registered for the CLI, as http://127.0.0.1/callback on any port (RFC 8252 §7.3). */
export const CALLBACK_PATH = '/callback';
/** How long a person has to sign in and approve in the browser. */
export const BROWSER_LOGIN_TIMEOUT_MS = 10 * 60_000;
/** A browser command still running after this long has opened the browser (xdg-open may wait for it). */
const OPEN_WAIT_MS = 3_000;

type Env = Record<string, string | undefined>;

/**
 * Whether a browser can open on this machine for the person at this terminal: a local display
 * (DISPLAY or WAYLAND_DISPLAY on Linux and the BSDs; always on macOS and Windows), and not a
 * session over SSH, whose browser would open on the remote machine, if anywhere.
 */
export function canOpenBrowser(env: Env, platform: NodeJS.Platform = process.platform): boolean {
	if (env.SSH_CONNECTION || env.SSH_TTY) return false;
	if (platform === 'darwin' || platform === 'win32') return true;
	return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

/**
 * The command that opens `url` in the person's browser: $BROWSER when set (the convention
 * xdg-open, Python and git follow; its first entry), else the platform's own opener.
 */
export function browserCommand(url: string, env: Env, platform: NodeJS.Platform = process.platform): { command: string; args: string[] } {
	const chosen = env.BROWSER?.split(':')[0]?.trim();
	if (chosen) return { command: chosen, args: [url] };
	if (platform === 'darwin') return { command: 'open', args: [url] };
	// cmd's start takes the first quoted argument as a window title, and & would end the command.
	if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', url.replaceAll('&', '^&')] };
	return { command: 'xdg-open', args: [url] };
}

/** Runs the browser command; false when it could not start or said it failed. */
export function openBrowser(url: string, env: Env, platform: NodeJS.Platform = process.platform): Promise<boolean> {
	const { command, args } = browserCommand(url, env, platform);
	return new Promise((resolve) => {
		let child;
		try {
			child = spawn(command, args, { stdio: 'ignore', detached: true });
		} catch {
			resolve(false);
			return;
		}
		const timer = setTimeout(() => {
			child.unref();
			resolve(true);
		}, OPEN_WAIT_MS);
		child.once('error', () => {
			clearTimeout(timer);
			resolve(false);
		});
		child.once('exit', (code) => {
			clearTimeout(timer);
			resolve(code === 0);
		});
	});
}

/** RFC 7636 §4.1–4.2: a random code verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
	const verifier = randomBytes(32).toString('base64url');
	return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The authorization request (RFC 6749 §4.1.1) the browser opens. */
export function authorizationUrl(
	endpoint: string,
	request: { clientId: string; redirectUri: string; state: string; challenge: string; scope?: string; dpopJkt?: string }
): string {
	const url = new URL(endpoint);
	const fields: Record<string, string | undefined> = {
		response_type: 'code',
		client_id: request.clientId,
		redirect_uri: request.redirectUri,
		scope: request.scope,
		state: request.state,
		code_challenge: request.challenge,
		code_challenge_method: 'S256',
		dpop_jkt: request.dpopJkt
	};
	for (const [name, value] of Object.entries(fields)) if (value !== undefined) url.searchParams.set(name, value);
	return url.href;
}

export type CallbackAnswer = { ok: true; code: string } | { ok: false; error: string; description?: string };

/**
 * The answer at the redirect URI, for the request whose state it carries (the listener checked
 * that): its issuer (RFC 9207: an answer from another server is a mix-up attack), then an error
 * (RFC 6749 §4.1.2.1) or the code.
 */
export function readCallback(query: URLSearchParams, issuer: { issuer: string; required: boolean }): CallbackAnswer {
	const iss = query.get('iss');
	if (iss === null ? issuer.required : iss !== issuer.issuer) {
		return { ok: false, error: 'wrong_issuer', description: `the answer did not come from ${issuer.issuer} (its iss is ${iss ?? 'missing'})` };
	}
	const error = query.get('error');
	if (error !== null) return { ok: false, error, description: query.get('error_description') ?? undefined };
	const code = query.get('code');
	if (!code) return { ok: false, error: 'invalid_response', description: 'the answer carried neither a code nor an error' };
	return { ok: true, code };
}

/** The loopback listener: its redirect URI, the answer that carries `state` when it comes, and closing. */
export interface LoopbackListener {
	redirectUri: string;
	answer: Promise<URLSearchParams>;
	close(): void;
}

/**
 * Listens on 127.0.0.1 (never a name: localhost may resolve elsewhere, RFC 8252 §8.3) on a free
 * port. Only a GET of the callback path carrying `state` counts; anything else (another page's
 * request, a stale tab) is answered and ignored, so no one else on this machine ends the login.
 */
export async function listenOnLoopback(state: string): Promise<LoopbackListener> {
	let settle: (query: URLSearchParams) => void = () => {};
	const answer = new Promise<URLSearchParams>((resolve) => (settle = resolve));
	const server: Server = createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const reply = (status: number, text: string) => {
			res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
			res.end(text + '\n');
		};
		if (req.method !== 'GET' || url.pathname !== CALLBACK_PATH) return reply(404, 'Not found.');
		if (url.searchParams.get('state') !== state) return reply(400, 'This answer is not for the login in progress. Return to your terminal.');
		reply(
			200,
			url.searchParams.has('code')
				? 'Signed in. You can close this tab and return to your terminal.'
				: 'The sign-in did not complete. Return to your terminal to see why.'
		);
		settle(url.searchParams);
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => resolve());
	});
	const { port } = server.address() as { port: number };
	return {
		redirectUri: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
		answer,
		close: () => {
			server.close();
			server.closeAllConnections();
		}
	};
}

export type BrowserOutcome =
	{ kind: 'success'; tokens: TokenResponse } | { kind: 'fail'; error: string; description?: string } | { kind: 'fallback'; reason: string };

export interface BrowserLogin {
	endpoints: Endpoints & { authorization_endpoint: string; issuer: string };
	clientId: string;
	scope?: string;
	dpop: DpopKey;
	env: Env;
	/** Prints what the person must read: where to sign in. */
	say(line: string): void;
	/** Notes on stderr. */
	warn(line: string): void;
	/** Called once the page is shown and the wait for the person begins. */
	waiting(): void;
	/** Resolves when the person gives up waiting (the live line's deadline), so the listener closes. */
	timeout: Promise<void>;
}

/**
 * The whole browser login: listen, open the browser (or print the URL when it cannot be
 * opened), wait for the answer, check it, and trade the code for tokens. A client the server
 * does not let sign in this way (unauthorized_client) falls back to the device flow.
 */
export async function loginWithBrowser(login: BrowserLogin): Promise<BrowserOutcome> {
	const { endpoints, clientId, dpop } = login;
	const state = randomBytes(16).toString('base64url');
	const { verifier, challenge } = pkcePair();
	const listener = await listenOnLoopback(state);
	try {
		const url = authorizationUrl(endpoints.authorization_endpoint, {
			clientId,
			redirectUri: listener.redirectUri,
			state,
			challenge,
			scope: login.scope,
			dpopJkt: await calculateJwkThumbprint(dpop.publicJwk, 'sha256')
		});
		login.say('To sign in, approve in the browser that opens now. If none opens, open this page in a browser on this computer:');
		login.say(url);
		login.say('');
		const opened = await openBrowser(url, login.env);
		login.waiting();
		if (!opened) login.warn('Could not open a browser by itself: open the page above.');
		const query = await Promise.race([listener.answer, login.timeout.then(() => null)]);
		if (query === null) return { kind: 'fail', error: 'expired_token', description: 'no answer came from the browser in time' };
		const answer = readCallback(query, { issuer: endpoints.issuer, required: endpoints.authorization_response_iss_parameter_supported === true });
		if (!answer.ok) {
			if (answer.error === 'unauthorized_client') return { kind: 'fallback', reason: `${clientId} may not sign in through a browser here` };
			return { kind: 'fail', error: answer.error, description: answer.description };
		}
		const exchange = { code: answer.code, redirectUri: listener.redirectUri, codeVerifier: verifier };
		let response;
		try {
			response = await requestCodeTokens(endpoints.token_endpoint, clientId, exchange, dpop);
		} catch (e) {
			// A code works once and for a minute: there is nothing to retry with.
			return { kind: 'fail', error: 'network_error', description: `the server could not be reached to collect the tokens: ${describeNetworkError(e)}` };
		}
		const decision = decidePoll(response, DEFAULT_INTERVAL);
		if (decision.kind === 'success' || decision.kind === 'fail') return decision;
		return {
			kind: 'fail',
			error: 'server_error',
			description: `the token request failed (${decision.kind === 'retry' ? decision.reason : `HTTP ${response.status}`})`
		};
	} finally {
		listener.close();
	}
}
