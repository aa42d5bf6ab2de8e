import { CodeChallengeMethod, decodeIdToken, generateCodeVerifier, generateState, OAuth2Client } from 'arctic';
import type { Config, ProviderConfig, ProviderId } from '../core/config';

/**
 * ORCID and Clerk through arctic's generic OAuth2Client: authorization code with
 * PKCE (S256) and state. Endpoints are configured explicitly (SPEC).
 */

export interface Identity {
	provider: ProviderId;
	/** '<provider>:<id at the provider>' */
	sub: string;
	name: string | null;
	email: string | null;
}

export type SignInResult = { ok: true; identity: Identity } | { ok: false; reason: string };

export const PROVIDER_IDS: ProviderId[] = ['orcid', 'clerk'];

export function isProviderId(value: string): value is ProviderId {
	return (PROVIDER_IDS as string[]).includes(value);
}

export function callbackUrl(config: Config, provider: ProviderId): string {
	return `${config.origin}/login/${provider}/callback`;
}

function client(config: Config, provider: ProviderConfig): OAuth2Client {
	return new OAuth2Client(provider.clientId, provider.clientSecret, callbackUrl(config, provider.id));
}

/** Where to send the browser, with the state and PKCE verifier to keep in cookies until the callback. */
export function startSignIn(config: Config, provider: ProviderConfig) {
	const state = generateState();
	const codeVerifier = generateCodeVerifier();
	const url = client(config, provider).createAuthorizationURLWithPKCE(
		`${provider.baseUrl}/oauth/authorize`,
		state,
		CodeChallengeMethod.S256,
		codeVerifier,
		provider.scopes
	);
	return { url, state, codeVerifier };
}

/** Exchanges the code, then learns who signed in from the ID token and userinfo. */
export async function completeSignIn(config: Config, provider: ProviderConfig, code: string, codeVerifier: string): Promise<SignInResult> {
	let accessToken: string;
	let idTokenSub: string | null = null;
	try {
		const tokens = await client(config, provider).validateAuthorizationCode(`${provider.baseUrl}/oauth/token`, code, codeVerifier);
		accessToken = tokens.accessToken();
		if ('id_token' in tokens.data) {
			const claims = decodeIdToken(tokens.idToken()) as { sub?: unknown };
			if (typeof claims.sub === 'string') idTokenSub = claims.sub;
		}
	} catch (error) {
		return { ok: false, reason: `the code exchange with ${provider.name} failed (${describe(error)})` };
	}
	let userinfo: Record<string, unknown>;
	try {
		const response = await fetch(`${provider.baseUrl}/oauth/userinfo`, {
			headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' },
			signal: AbortSignal.timeout(10_000)
		});
		if (!response.ok) return { ok: false, reason: `${provider.name} answered ${response.status} for the user's profile` };
		userinfo = (await response.json()) as Record<string, unknown>;
	} catch (error) {
		return { ok: false, reason: `${provider.name}'s profile could not be read (${describe(error)})` };
	}
	const id = idTokenSub ?? (typeof userinfo.sub === 'string' ? userinfo.sub : null);
	if (!id) return { ok: false, reason: `${provider.name} did not say who signed in` };
	if (typeof userinfo.sub === 'string' && userinfo.sub !== id) {
		return { ok: false, reason: `${provider.name}'s ID token and profile name different people` };
	}
	return { ok: true, identity: { provider: provider.id, sub: `${provider.id}:${id}`, name: nameOf(userinfo), email: emailOf(userinfo) } };
}

function nameOf(userinfo: Record<string, unknown>): string | null {
	if (typeof userinfo.name === 'string' && userinfo.name.trim()) return userinfo.name.trim();
	const parts = [userinfo.given_name, userinfo.family_name].filter((p): p is string => typeof p === 'string' && p.trim() !== '');
	return parts.length ? parts.join(' ') : null;
}

/**
 * Only an address the provider vouches for is trusted, since grants can be addressed to
 * emails: `email_verified: true`, and a missing `email_verified` is not a vouch.
 */
export function emailOf(userinfo: Record<string, unknown>): string | null {
	if (typeof userinfo.email !== 'string' || userinfo.email_verified !== true) return null;
	return userinfo.email.trim().toLowerCase() || null;
}

function describe(error: unknown): string {
	if (error instanceof Error) return error.constructor.name === 'OAuth2RequestError' ? `error ${(error as Error & { code: string }).code}` : error.message;
	return 'unknown error';
}
