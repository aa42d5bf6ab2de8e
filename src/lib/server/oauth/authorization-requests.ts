import { isLoopbackAddress } from '../core/addresses';
import { recordAudit } from '../core/audit';
import { mayUseGrant, resolveRequestedScopes, type Client } from '../core/clients';
import { generateSecret, hashSecret } from '../core/crypto';
import { countAuthorizationCode } from '../core/metrics';
import type { Services } from '../core/services';
import type { Actor } from './device-authorizations';
import { msFromSeconds } from '../core/time';

/**
 * The authorization code flow's front half (RFC 6749 §4.1, RFC 7636, RFC 8252, RFC 9207): checking
 * a request to /oauth/authorize, and answering it at the client's redirect_uri once the person
 * approved or denied. The token request that redeems the code is authorization-code-grant.ts's.
 */

/** SPEC: a code lives 60 seconds and works once. */
export const AUTHORIZATION_CODE_TTL_SECONDS = 60;

/** The parameters of an authorization request, in the order the consent page's form carries them on. */
export const AUTHORIZATION_PARAMS = [
	'response_type',
	'client_id',
	'redirect_uri',
	'scope',
	'state',
	'code_challenge',
	'code_challenge_method',
	'nonce',
	'dpop_jkt'
] as const;

/** A request that passed every check: what the consent page shows and Approve binds its code to. */
export interface AuthorizationRequest {
	client: Client;
	redirectUri: string;
	scopes: string[];
	state: string | null;
	codeChallenge: string;
	nonce: string | null;
	dpopJkt: string | null;
	/** The parameters as sent, which the consent page's form sends again with Approve or Deny. */
	params: Record<string, string>;
}

/**
 * A checked request; an unknown client or an unregistered redirect_uri is told to the person
 * (`page`), never sent anywhere (RFC 6749 §4.1.2.1); every other problem goes back to the client
 * as an error at its redirect_uri (`redirect`).
 */
export type AuthorizationRequestCheck =
	{ ok: true; request: AuthorizationRequest } | { ok: false; page: string } | { ok: false; redirect: string; error: string };

/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 7638: a SHA-256 JWK thumbprint, base64url. */
const JKT = /^[A-Za-z0-9_-]{43}$/;
const MAX_STATE_LENGTH = 1000;
const MAX_NONCE_LENGTH = 255;

/** Checks an authorization request's parameters (the query of GET /oauth/authorize, or the consent form's fields). */
export function checkAuthorizationRequest(services: Services, params: URLSearchParams): AuthorizationRequestCheck {
	const clientId = params.getAll('client_id');
	if (clientId.length !== 1 || clientId[0] === '')
		return { ok: false, page: 'The application sent no client_id (or more than one), so doorcode cannot tell who is asking.' };
	const client = services.clients.get(clientId[0]);
	if (!client) return { ok: false, page: 'The application that sent you here is unknown to doorcode, or has been disabled.' };
	const redirectUri = params.getAll('redirect_uri');
	if (redirectUri.length !== 1 || !redirectUriRegistered(client, redirectUri[0])) {
		return { ok: false, page: `${client.name} asked to send the answer to an address it has not registered, so doorcode will not send it there.` };
	}
	const state = params.get('state');
	const refuse = (error: string, description: string) => ({
		ok: false as const,
		error,
		redirect: authorizationResponse(services, redirectUri[0], { error, error_description: description }, state)
	});
	const repeated = AUTHORIZATION_PARAMS.find((name) => params.getAll(name).length > 1);
	if (repeated) return refuse('invalid_request', `The parameter ${repeated} was sent more than once.`);
	if (state !== null && (state.length > MAX_STATE_LENGTH || state === ''))
		return refuse('invalid_request', `state must be 1 to ${MAX_STATE_LENGTH} characters.`);
	const responseType = params.get('response_type');
	if (!responseType) return refuse('invalid_request', 'response_type is required.');
	if (responseType !== 'code') return refuse('unsupported_response_type', 'This server supports response_type=code only.');
	if (!mayUseGrant(client, 'authorization_code')) {
		countAuthorizationCode('refused');
		return refuse('unauthorized_client', 'This client may not use the authorization code flow: its grant_types do not include authorization_code.');
	}
	if (params.get('code_challenge_method') !== 'S256') {
		return refuse('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256 (plain is refused).');
	}
	const codeChallenge = params.get('code_challenge') ?? '';
	if (!S256_CHALLENGE.test(codeChallenge))
		return refuse('invalid_request', 'code_challenge must be the base64url SHA-256 of the code_verifier (43 characters).');
	const scopes = resolveRequestedScopes(client, params.get('scope') ?? undefined);
	if ('unknown' in scopes) return refuse('invalid_scope', `This client may not ask for: ${scopes.unknown.join(' ')}.`);
	const nonce = params.get('nonce');
	if (nonce !== null && (nonce === '' || nonce.length > MAX_NONCE_LENGTH))
		return refuse('invalid_request', `nonce must be 1 to ${MAX_NONCE_LENGTH} characters.`);
	const dpopJkt = params.get('dpop_jkt');
	if (dpopJkt !== null && !JKT.test(dpopJkt)) {
		return refuse('invalid_request', "dpop_jkt must be the base64url SHA-256 JWK thumbprint (RFC 7638) of the client's DPoP key.");
	}
	const sent = Object.fromEntries(AUTHORIZATION_PARAMS.flatMap((name) => (params.has(name) ? [[name, params.get(name) as string]] : [])));
	return { ok: true, request: { client, redirectUri: redirectUri[0], scopes, state, codeChallenge, nonce, dpopJkt, params: sent } };
}

/**
 * RFC 6749 §3.1.2.3 and RFC 8252 §7.3: a registered redirect URI, exactly; for a public client a
 * registered loopback IP literal (127.0.0.1, [::1]) with plain http matches on any port, since a
 * CLI listens on whichever port is free. The name localhost never matches by port (RFC 8252 §8.3).
 */
export function redirectUriRegistered(client: Client, requested: string): boolean {
	const registered = client.redirectUris ?? [];
	if (registered.includes(requested)) return true;
	if (client.type !== 'public' || !URL.canParse(requested)) return false;
	const asked = new URL(requested);
	if (asked.protocol !== 'http:' || !isLoopbackAddress(asked.hostname) || asked.username || asked.password || requested.includes('#')) return false;
	return registered.some((uri) => {
		const allowed = new URL(uri);
		return allowed.protocol === 'http:' && allowed.hostname === asked.hostname && allowed.pathname === asked.pathname && allowed.search === asked.search;
	});
}

/** RFC 6749 §4.1.2 with RFC 9207: the answer's parameters added to the redirect URI's own query, with `state` and `iss`. */
function authorizationResponse(services: Services, redirectUri: string, answer: Record<string, string>, state: string | null): string {
	const url = new URL(redirectUri);
	for (const [name, value] of Object.entries(answer)) url.searchParams.append(name, value);
	if (state !== null) url.searchParams.append('state', state);
	url.searchParams.append('iss', services.config.origin);
	return url.href;
}

/**
 * Approve: a new code (32 random bytes, only its hash stored) bound to the client, the
 * redirect_uri, the PKCE challenge, the scopes, the nonce, the person and the DPoP key, living
 * 60 seconds; the browser is sent to the redirect_uri with it. Audited.
 */
export async function approveAuthorizationRequest(services: Services, request: AuthorizationRequest, decider: Actor, now: number): Promise<string> {
	const code = generateSecret();
	const scope = request.scopes.join(' ');
	await services.store.insertAuthorizationCode({
		codeHash: hashSecret(code),
		clientId: request.client.id,
		redirectUri: request.redirectUri,
		codeChallenge: request.codeChallenge,
		scope,
		nonce: request.nonce,
		dpopJkt: request.dpopJkt,
		ownerId: decider.userId,
		approverIp: decider.ip,
		createdAt: now,
		expiresAt: now + msFromSeconds(AUTHORIZATION_CODE_TTL_SECONDS)
	});
	await recordAudit(
		services,
		{ actor: decider.sub, action: 'authorization.approved', clientId: request.client.id, subject: decider.sub, ip: decider.ip, detail: `scope "${scope}"` },
		now
	);
	countAuthorizationCode('issued');
	return authorizationResponse(services, request.redirectUri, { code }, request.state);
}

/** Deny: the browser is sent to the redirect_uri with access_denied. Audited. */
export async function denyAuthorizationRequest(services: Services, request: AuthorizationRequest, decider: Actor, now: number): Promise<string> {
	await recordAudit(
		services,
		{ actor: decider.sub, action: 'authorization.denied', clientId: request.client.id, ip: decider.ip, detail: 'denied at the consent page' },
		now
	);
	countAuthorizationCode('denied');
	return authorizationResponse(services, request.redirectUri, { error: 'access_denied', error_description: 'The person denied the request.' }, request.state);
}
