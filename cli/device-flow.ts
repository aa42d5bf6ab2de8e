// The client side of the OAuth 2.0 Device Authorization Grant (RFC 8628):
// discovery (RFC 8414), the device authorization request (§3.1), the token
// polls (§3.4/§3.5), the token requests of refresh and of the browser login
// (loopback-flow.ts) and the userinfo call, each with a DPoP proof (RFC 9449)
// when given a key. The pure parts (endpoint resolution, the poll decision,
// back-off) are exported for the tests.

import { dpopProof, type DpopKey } from './dpop.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default." */
export const DEFAULT_INTERVAL = 5;
/** RFC 8628 §3.5: on slow_down "the interval MUST be increased by 5 seconds for this and all subsequent requests". */
export const SLOW_DOWN_STEP = 5;
/** expires_in is required (§3.2); if a server leaves it out, assume doorcode's own default. */
const DEFAULT_EXPIRES_IN = 600;
/** No request may hang the CLI forever. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Longest pause between retries after network failures. */
const MAX_RETRY_DELAY = 60;

export type Endpoints = {
	device_authorization_endpoint: string;
	token_endpoint: string;
	userinfo_endpoint: string;
	revocation_endpoint?: string;
	/** Only from metadata naming its issuer: the browser login needs both, to check the answer's iss (RFC 9207). */
	authorization_endpoint?: string;
	issuer?: string;
	/** RFC 9207: the server says every answer at a redirect_uri names it, so one without iss is refused. */
	authorization_response_iss_parameter_supported?: boolean;
};

export type DeviceAuthorization = {
	device_code: string;
	user_code: string;
	verification_uri: string;
	verification_uri_complete?: string;
	expires_in: number;
	interval: number;
};

export type TokenResponse = {
	access_token: string;
	token_type: string;
	expires_in?: number;
	refresh_token?: string;
	scope?: string;
};

export type Userinfo = {
	sub: string;
	provider?: string;
	name?: string;
	email?: string;
	scope?: string;
	client_id?: string;
};

/** An OAuth error object (RFC 6749 §5.2) returned by the server. */
export class OAuthError extends Error {
	error: string;
	description?: string;
	status: number;
	constructor(status: number, error: string, description?: string) {
		super(description ? `${error}: ${description}` : error);
		this.name = 'OAuthError';
		this.status = status;
		this.error = error;
		this.description = description;
	}
}

/** A response we could not use at all: not JSON, or JSON of the wrong shape. */
export class BadResponseError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'BadResponseError';
	}
}

/**
 * Turns `--server` into the key the credentials are stored under and the
 * base the endpoints hang off: scheme, host, port and any path, without a
 * trailing slash, query or fragment.
 */
export function normalizeServer(input: string): string {
	let url: URL;
	try {
		url = new URL(input);
	} catch {
		throw new Error(`--server must be a URL like http://localhost:3000, not "${input}"`);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		throw new Error(`--server must be an http:// or https:// URL, not "${input}"`);
	}
	const path = url.pathname.replace(/\/+$/, '');
	return url.origin + path;
}

/** Plain http sends the tokens in the clear; fine on loopback, worth a warning elsewhere. */
export function isInsecureServer(server: string): boolean {
	const url = new URL(server);
	if (url.protocol === 'https:') return false;
	const host = url.hostname.replace(/^\[|\]$/g, '');
	return !(host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\./.test(host));
}

/**
 * Endpoints from the RFC 8414 metadata, falling back to doorcode's fixed
 * layout (`${server}/oauth/...`) for any the metadata lacks. Relative or
 * non-string values are ignored rather than trusted.
 */
export function resolveEndpoints(server: string, metadata: unknown): Endpoints {
	const m = (typeof metadata === 'object' && metadata !== null ? metadata : {}) as Record<string, unknown>;
	const pick = (key: string, path: string): string => {
		const value = m[key];
		return typeof value === 'string' && /^https?:\/\//.test(value) ? value : `${server}${path}`;
	};
	const absolute = (value: unknown): value is string => typeof value === 'string' && /^https?:\/\//.test(value);
	const { revocation_endpoint: revocation, authorization_endpoint: authorization, issuer } = m;
	return {
		device_authorization_endpoint: pick('device_authorization_endpoint', '/oauth/device_authorization'),
		token_endpoint: pick('token_endpoint', '/oauth/token'),
		userinfo_endpoint: pick('userinfo_endpoint', '/oauth/userinfo'),
		...(absolute(revocation) ? { revocation_endpoint: revocation } : {}),
		...(absolute(authorization) && typeof issuer === 'string'
			? {
					authorization_endpoint: authorization,
					issuer,
					authorization_response_iss_parameter_supported: m.authorization_response_iss_parameter_supported === true
				}
			: {})
	};
}

/**
 * GET the metadata. A server that cannot be reached is an error; one that
 * answers without usable metadata (404, HTML) gets the fallback endpoints.
 */
export async function fetchEndpoints(server: string): Promise<{ endpoints: Endpoints; fromMetadata: boolean }> {
	const res = await fetch(`${server}/.well-known/oauth-authorization-server`, {
		headers: { accept: 'application/json' },
		signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)
	});
	if (!res.ok) await res.body?.cancel();
	const body = res.ok ? await readJson(res) : undefined;
	return {
		endpoints: resolveEndpoints(server, body),
		fromMetadata: typeof body === 'object' && body !== null && !Array.isArray(body)
	};
}

/** RFC 8628 §3.1: ask for a device code and a user code, bound from this first request to `dpop`'s key. */
export async function requestDeviceCode(endpoint: string, clientId: string, scope: string | undefined, dpop?: DpopKey): Promise<DeviceAuthorization> {
	const { status, body } = await postForm(
		endpoint,
		{
			client_id: clientId,
			...(scope !== undefined ? { scope } : {})
		},
		{ dpop }
	);
	const error = oauthErrorOf(status, body);
	if (error) throw error;
	return parseDeviceAuthorization(body);
}

/** Validates the §3.2 response and applies its defaults. */
export function parseDeviceAuthorization(body: unknown): DeviceAuthorization {
	const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
	for (const key of ['device_code', 'user_code', 'verification_uri'] as const) {
		if (typeof b[key] !== 'string' || b[key] === '') {
			throw new BadResponseError(`the device authorization response has no ${key}`);
		}
	}
	return {
		device_code: b.device_code as string,
		user_code: b.user_code as string,
		verification_uri: b.verification_uri as string,
		...(typeof b.verification_uri_complete === 'string' ? { verification_uri_complete: b.verification_uri_complete } : {}),
		expires_in: positiveNumber(b.expires_in) ?? DEFAULT_EXPIRES_IN,
		interval: positiveNumber(b.interval) ?? DEFAULT_INTERVAL
	};
}

/** One token poll's raw outcome, before deciding what it means. */
export type PollResponse = {
	status: number;
	/** Parsed JSON, or undefined when the body was not JSON. */
	body: unknown;
	/** Seconds from a Retry-After header, when present. */
	retryAfter?: number;
};

export type PollDecision =
	/** The person approved: tokens are here. */
	| { kind: 'success'; tokens: TokenResponse }
	/** Keep polling every `interval` seconds; `stage` is the new stage to show, if the server named one. */
	| { kind: 'wait'; interval: number; stage?: string; slowDown?: boolean }
	/** A transient failure (5xx, rate limit, garbage from a proxy): try again later. */
	| { kind: 'retry'; reason: string; retryAfter?: number }
	/** Stop: denied, expired, or any other error. */
	| { kind: 'fail'; error: string; description?: string };

/**
 * Maps a token-endpoint response to the next action (RFC 8628 §3.5).
 * `interval` is the current polling interval in seconds.
 */
export function decidePoll(response: PollResponse, interval: number): PollDecision {
	const { status, body } = response;
	const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;

	if (status >= 200 && status < 300) {
		if (b && typeof b.access_token === 'string' && typeof b.token_type === 'string') {
			return { kind: 'success', tokens: b as unknown as TokenResponse };
		}
		return { kind: 'fail', error: 'invalid_response', description: 'the token response has no access_token or token_type' };
	}

	const error = b && typeof b.error === 'string' ? b.error : undefined;
	const description = b && typeof b.error_description === 'string' ? b.error_description : undefined;

	if (error === 'authorization_pending') {
		return { kind: 'wait', interval, ...(description ? { stage: description } : {}) };
	}
	if (error === 'slow_down') {
		// The stage has not changed; only the pace has.
		return { kind: 'wait', interval: interval + SLOW_DOWN_STEP, slowDown: true };
	}
	// Rate limits, overloaded or restarting servers, proxies answering HTML:
	// none of them means the code is dead, so keep trying until it expires.
	if (status === 429 || status >= 500 || !error) {
		return {
			kind: 'retry',
			reason: error ? `${status} ${error}` : `HTTP ${status}`,
			...(response.retryAfter !== undefined ? { retryAfter: response.retryAfter } : {})
		};
	}
	// access_denied, expired_token, invalid_grant, invalid_client, ...
	return { kind: 'fail', error, ...(description ? { description } : {}) };
}

/**
 * Seconds to wait before retry number `attempt` (1, 2, ...) after a network
 * failure or transient error: the polling interval, doubling, capped at a
 * minute. Never shorter than the interval, so a retry is never a slow_down.
 */
export function retryDelay(attempt: number, interval: number, retryAfter?: number): number {
	const backoff = Math.min(interval * 2 ** Math.max(0, attempt - 1), Math.max(MAX_RETRY_DELAY, interval));
	return Math.max(backoff, retryAfter ?? 0);
}

/** One token poll (§3.4), with a proof of the key the code is bound to. Throws only on network failure. */
export async function pollToken(endpoint: string, clientId: string, deviceCode: string, dpop?: DpopKey): Promise<PollResponse> {
	return postForm(
		endpoint,
		{
			grant_type: DEVICE_CODE_GRANT,
			device_code: deviceCode,
			client_id: clientId
		},
		{ dpop }
	);
}

/** RFC 6749 §6: trade a refresh token for a new access (and, with rotation, refresh) token. Throws only on network failure. */
export async function requestRefresh(
	endpoint: string,
	clientId: string,
	refreshToken: string,
	options: { timeoutMs?: number; dpop?: DpopKey } = {}
): Promise<PollResponse> {
	return postForm(endpoint, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId }, options);
}

/**
 * RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.5): trade an authorization code, the redirect_uri it
 * was sent to and the code verifier for tokens, proving the login's DPoP key. Throws only on network failure.
 */
export async function requestCodeTokens(
	endpoint: string,
	clientId: string,
	exchange: { code: string; redirectUri: string; codeVerifier: string },
	dpop?: DpopKey
): Promise<PollResponse> {
	const fields = {
		grant_type: 'authorization_code',
		code: exchange.code,
		redirect_uri: exchange.redirectUri,
		code_verifier: exchange.codeVerifier,
		client_id: clientId
	};
	return postForm(endpoint, fields, { dpop });
}

/**
 * RFC 7009 §2.1: ask the server to revoke a token. §2.2: 200 means done, even
 * for a token it did not know. Throws only on network failure.
 */
export async function revokeToken(
	endpoint: string,
	clientId: string,
	token: string,
	hint: 'refresh_token' | 'access_token',
	dpop?: DpopKey
): Promise<PollResponse> {
	return postForm(endpoint, { token, token_type_hint: hint, client_id: clientId }, { dpop });
}

/**
 * GET userinfo with the access token: a bearer token, or with `dpop` one bound to that key,
 * sent in the DPoP scheme with a proof (RFC 9449 §7.1). 401 comes back as an OAuthError with status 401.
 */
export async function fetchUserinfo(endpoint: string, accessToken: string, dpop?: DpopKey): Promise<Userinfo> {
	const res = await fetch(endpoint, {
		headers: {
			authorization: `${dpop ? 'DPoP' : 'Bearer'} ${accessToken}`,
			...(dpop ? { dpop: await dpopProof(dpop, 'GET', endpoint, accessToken) } : {}),
			accept: 'application/json'
		},
		signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)
	});
	const body = await readJson(res);
	if (!res.ok) {
		throw oauthErrorOf(res.status, body) ?? new OAuthError(res.status, `http_${res.status}`);
	}
	const b = body as Record<string, unknown> | undefined;
	if (!b || typeof b.sub !== 'string') throw new BadResponseError('the userinfo response has no sub');
	return b as unknown as Userinfo;
}

/** The name to greet someone by: their name when the provider gave one, else their sub. */
export function displayName(info: Pick<Userinfo, 'sub' | 'name'>): string {
	return typeof info.name === 'string' && info.name.trim() !== '' ? info.name.trim() : info.sub;
}

/** Friendlier words for the network failures people actually meet. */
const NETWORK_ERRORS: Record<string, string> = {
	ECONNREFUSED: 'connection refused',
	ECONNRESET: 'connection reset',
	UND_ERR_SOCKET: 'connection closed',
	ENOTFOUND: 'host not found',
	EAI_AGAIN: 'DNS lookup failed',
	ETIMEDOUT: 'timed out',
	ENETUNREACH: 'network unreachable',
	EHOSTUNREACH: 'host unreachable'
};

/** A short description of a network failure, e.g. "connection refused" or "timed out". */
export function describeNetworkError(e: unknown): string {
	const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
	if (err?.name === 'TimeoutError') return 'timed out';
	const code = err?.cause?.code;
	if (code) return NETWORK_ERRORS[code] ?? code;
	return err?.cause?.message ?? err?.message ?? String(e);
}

// --- plumbing ---------------------------------------------------------------

/** RFC 8628 §3.1/§3.4: requests are application/x-www-form-urlencoded; with a key, each carries a new DPoP proof. */
async function postForm(
	endpoint: string,
	fields: Record<string, string>,
	{ timeoutMs = REQUEST_TIMEOUT_MS, dpop }: { timeoutMs?: number; dpop?: DpopKey } = {}
): Promise<PollResponse> {
	const res = await fetch(endpoint, {
		method: 'POST',
		headers: {
			'content-type': 'application/x-www-form-urlencoded',
			accept: 'application/json',
			...(dpop ? { dpop: await dpopProof(dpop, 'POST', endpoint) } : {})
		},
		body: new URLSearchParams(fields),
		signal: AbortSignal.timeout(timeoutMs)
	});
	const body = await readJson(res);
	const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
	return { status: res.status, body, ...(retryAfter !== undefined ? { retryAfter } : {}) };
}

/** An OAuthError for a non-2xx answer, or undefined for success. */
function oauthErrorOf(status: number, body: unknown): OAuthError | BadResponseError | undefined {
	if (status >= 200 && status < 300) return undefined;
	const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
	if (b && typeof b.error === 'string') {
		return new OAuthError(status, b.error, typeof b.error_description === 'string' ? b.error_description : undefined);
	}
	return new BadResponseError(`the server answered HTTP ${status} without an OAuth error`);
}

async function readJson(res: Response): Promise<unknown> {
	const text = await res.text();
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

/** Retry-After in delta-seconds form (RFC 9110 §10.2.3); HTTP dates are rare here and ignored. */
export function parseRetryAfter(value: string | null): number | undefined {
	if (value === null || !/^\s*\d+\s*$/.test(value)) return undefined;
	return Number(value);
}

function positiveNumber(value: unknown): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}
