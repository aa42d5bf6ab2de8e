import { ArcticFetchError, CodeChallengeMethod, generateCodeVerifier, generateState, OAuth2Client, OAuth2RequestError, UnexpectedResponseError } from 'arctic';
import type { Config } from '../../core/config';

/**
 * What every kind of provider shares: who signed in, how a failure is told, the
 * code exchange and the reads of JSON, each within a deadline so that a provider
 * that does not answer fails the sign-in instead of holding the page.
 */

export interface Identity {
	/** The provider's id: orcid, clerk, or a PROVIDERS_FILE entry's. */
	provider: string;
	/** '<provider id>:<subject at the provider>' */
	sub: string;
	name: string | null;
	/** Only an address the provider says is verified. */
	email: string | null;
	/** What the provider said of the person's groups; null when it says nothing about them (ORCID, Clerk). */
	groups: string[] | null;
}

/**
 * Why a sign-in at a provider failed, in the words a page can use: it could not be
 * reached, it refused the code, its ID token failed validation, or it would not say
 * who signed in.
 */
export type SignInProblem = 'unreachable' | 'refused' | 'invalid_token' | 'profile';

/** `detail` is for the log: what went wrong, never a token or a secret. */
export interface SignInFailure {
	ok: false;
	problem: SignInProblem;
	detail: string;
}

export type Upstream<T> = { ok: true; value: T } | SignInFailure;

/**
 * What the start asks of the provider. `anotherAccount`: the person pressed "Sign in with
 * another account", so the provider must let them choose an account (or sign in again)
 * instead of signing them straight back in with the session it still has.
 */
export interface StartOptions {
	anotherAccount: boolean;
}

/** Where to send the browser, and what to keep in its sign-in cookies until the callback. */
export interface SignInStart {
	url: URL;
	state: string;
	codeVerifier: string;
	/** OpenID Connect's nonce, which the ID token must repeat; null for kinds without one. */
	nonce: string | null;
}

/** The callback's answer, with what the browser kept since the start. */
export interface CallbackParams {
	code: string;
	codeVerifier: string;
	nonce: string | null;
}

export type SignInResult = { ok: true; identity: Identity } | SignInFailure;

/** How long any one request to a provider may take. */
export const UPSTREAM_TIMEOUT_MS = 10_000;

export function failure(problem: SignInProblem, detail: string): SignInFailure {
	return { ok: false, problem, detail };
}

export function callbackUrl(config: Config, providerId: string): string {
	return `${config.origin}/login/${providerId}/callback`;
}

/** arctic's OAuth2Client for a provider: client_secret_basic, the redirect to its callback. */
export function oauthClient(config: Config, provider: { id: string; clientId: string; clientSecret: string }): OAuth2Client {
	return new OAuth2Client(provider.clientId, provider.clientSecret, callbackUrl(config, provider.id));
}

/**
 * The authorization URL with PKCE (S256) and a fresh state, plus an OpenID Connect nonce
 * when asked for, and `prompt` when given: each kind names its own value, never one a
 * request carried.
 */
export function startWithPkce(
	client: OAuth2Client,
	authorizationEndpoint: string,
	scopes: string[],
	{ withNonce, prompt }: { withNonce: boolean; prompt: string | null }
): SignInStart {
	const state = generateState();
	const codeVerifier = generateCodeVerifier();
	const url = client.createAuthorizationURLWithPKCE(authorizationEndpoint, state, CodeChallengeMethod.S256, codeVerifier, scopes);
	const nonce = withNonce ? generateState() : null;
	if (nonce) url.searchParams.set('nonce', nonce);
	if (prompt) url.searchParams.set('prompt', prompt);
	return { url, state, codeVerifier, nonce };
}

/** OpenID Connect Core §3.1.2.1: `prompt=login` asks the issuer to authenticate the person again, even over a session it has. */
export function openIdPrompt({ anotherAccount }: StartOptions): string | null {
	return anotherAccount ? 'login' : null;
}

/** Exchanges the authorization code at the token endpoint; the answer's fields, or why not. */
export async function exchangeCode(
	client: OAuth2Client,
	tokenEndpoint: string,
	code: string,
	codeVerifier: string
): Promise<Upstream<Record<string, unknown>>> {
	let timer: NodeJS.Timeout | undefined;
	const deadline = new Promise<never>((_resolve, reject) => {
		timer = setTimeout(() => reject(new DeadlinePassed()), UPSTREAM_TIMEOUT_MS);
	});
	try {
		const tokens = await Promise.race([client.validateAuthorizationCode(tokenEndpoint, code, codeVerifier), deadline]);
		const data = tokens.data as Record<string, unknown>;
		// GitHub answers a refused code with 200 and an `error` field.
		if (typeof data.error === 'string') return failure('refused', `the token endpoint refused the code (error ${data.error.slice(0, 60)})`);
		if (typeof data.access_token !== 'string') return failure('refused', 'the token endpoint answered without an access token');
		return { ok: true, value: data };
	} catch (error) {
		if (error instanceof DeadlinePassed) return failure('unreachable', `the token endpoint did not answer within ${UPSTREAM_TIMEOUT_MS / 1000} s`);
		if (error instanceof ArcticFetchError) return failure('unreachable', `the token endpoint could not be reached (${causeOf(error)})`);
		if (error instanceof OAuth2RequestError) return failure('refused', `the token endpoint refused the code (error ${error.code.slice(0, 60)})`);
		if (error instanceof UnexpectedResponseError && error.status >= 500) return failure('unreachable', `the token endpoint answered ${error.status}`);
		return failure('refused', `the token endpoint's answer was not understood (${(error as Error).message})`);
	} finally {
		clearTimeout(timer);
	}
}

class DeadlinePassed extends Error {}

export interface JsonAnswer {
	status: number;
	headers: Headers;
	/** The parsed body; undefined when it was not JSON. */
	body: unknown;
}

/** GETs a JSON document; any status is an answer, only a network failure or the deadline is not. */
export async function getJson(url: string, headers: Record<string, string>, what: string): Promise<Upstream<JsonAnswer>> {
	let response: Response;
	try {
		response = await fetch(url, { headers: { Accept: 'application/json', ...headers }, redirect: 'error', signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
	} catch (error) {
		return failure('unreachable', `${what} could not be read (${causeOf(error)})`);
	}
	let body: unknown;
	try {
		body = await response.json();
	} catch {
		body = undefined;
	}
	return { ok: true, value: { status: response.status, headers: response.headers, body } };
}

/** A JSON object's fields, or null for anything else. */
export function objectOf(body: unknown): Record<string, unknown> | null {
	return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
}

export function nameOf(claims: Record<string, unknown>): string | null {
	if (typeof claims.name === 'string' && claims.name.trim()) return claims.name.trim();
	const parts = [claims.given_name, claims.family_name].filter((p): p is string => typeof p === 'string' && p.trim() !== '');
	return parts.length ? parts.join(' ') : null;
}

/**
 * Only an address the provider vouches for is trusted, since grants can be addressed to
 * emails: `email_verified: true`, and a missing `email_verified` is not a vouch.
 */
export function emailOf(claims: Record<string, unknown>): string | null {
	if (typeof claims.email !== 'string' || claims.email_verified !== true) return null;
	return claims.email.trim().toLowerCase() || null;
}

/** The deepest cause's system code (ECONNREFUSED, ENOTFOUND …) when there is one: fetch wraps it in "fetch failed". */
function causeOf(error: unknown): string {
	let current = error;
	for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
		const { code } = current as { code?: unknown };
		if (typeof code === 'string' && !code.startsWith('UND_ERR_')) return code;
		if (current.name === 'TimeoutError') return `no answer within ${UPSTREAM_TIMEOUT_MS / 1000} s`;
		if (!(current.cause instanceof Error)) return current.message;
		current = current.cause;
	}
	return 'unknown error';
}
