import { authenticateClient, DEVICE_CODE_GRANT_TYPE, mayUseGrant, type Client } from '../core/clients';
import { keyring, SIGNING_ALG } from './signing-keys';
import { createDeviceAuthorization } from './device-authorizations';
import { pollDeviceCode } from './device-grant';
import { redeemAuthorizationCode } from './authorization-code-grant';
import { deviceAuthorizationBinding, DPOP_SIGNING_ALGS, tokenRequestBinding, verifyDpopProof } from './dpop';
import { invalidClient, invalidDpopProof, invalidRequest, ok, unauthorizedClient, unsupportedGrantType, type OAuthResult } from './errors';
import { limited, type ApiLimit } from './limits';
import { addressKey } from '../core/rate-limit';
import type { Params } from './request-params';
import type { RequestContext, Services } from '../core/services';
import { authenticateAccessToken, introspectToken, refreshTokens, revokeToken } from './tokens';
import { releasedClaims } from './jwt';
import { REGISTRATION_PATH } from './client-registration';
import type { Config } from '../core/config';

/**
 * The JSON API as plain functions from parsed fields to (status, JSON): no framework
 * types, so the hot path can be served from anywhere without rewriting it.
 */

/** The grants the token endpoint serves; each client may use those its grant_types name. */
const GRANT_TYPES = [DEVICE_CODE_GRANT_TYPE, 'authorization_code', 'refresh_token'];

/** Where each endpoint of the JSON API is, under ORIGIN: the metadata names them, and DPoP proofs (their htu). */
const PATHS = {
	deviceAuthorization: '/oauth/device_authorization',
	token: '/oauth/token',
	userinfo: '/oauth/userinfo',
	revocation: '/oauth/revoke',
	introspection: '/oauth/introspect'
};

/** An endpoint's URL under ORIGIN. */
const endpointUrl = ({ config }: Services, path: string) => `${config.origin}${path}`;

/** RFC 8414 authorization server metadata; the issuer is ORIGIN exactly. */
export function authorizationServerMetadata({ config, clients }: Services): OAuthResult {
	return ok(serverMetadata(config, clients.enabled()));
}

function serverMetadata({ origin, registrationToken }: Config, clients: Client[]) {
	return {
		issuer: origin,
		authorization_endpoint: `${origin}${AUTHORIZATION_PATH}`,
		device_authorization_endpoint: `${origin}${PATHS.deviceAuthorization}`,
		token_endpoint: `${origin}${PATHS.token}`,
		userinfo_endpoint: `${origin}${PATHS.userinfo}`,
		revocation_endpoint: `${origin}${PATHS.revocation}`,
		introspection_endpoint: `${origin}${PATHS.introspection}`,
		jwks_uri: `${origin}${JWKS_PATH}`,
		// RFC 8414 §2: named only while registration is open (REGISTRATION_TOKEN).
		...(registrationToken === null ? {} : { registration_endpoint: `${origin}${REGISTRATION_PATH}` }),
		grant_types_supported: GRANT_TYPES,
		response_types_supported: ['code'],
		code_challenge_methods_supported: ['S256'],
		// RFC 9207: every answer at a redirect_uri names this issuer.
		authorization_response_iss_parameter_supported: true,
		token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
		revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
		introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
		scopes_supported: [...new Set(['openid', ...clients.flatMap((client) => client.scopes)])],
		dpop_signing_alg_values_supported: [...DPOP_SIGNING_ALGS],
		service_documentation: `${origin}/`
	};
}

/** Where the authorization code flow starts: the consent page (src/routes/oauth/authorize). */
export const AUTHORIZATION_PATH = '/oauth/authorize';

/** Where the JWK Set is served. */
export const JWKS_PATH = '/.well-known/jwks.json';

/** OpenID Connect Discovery 1.0 §3: the RFC 8414 fields and OpenID's own. */
export function openidConfiguration({ config, clients }: Services): OAuthResult {
	return ok({
		...serverMetadata(config, clients.enabled()),
		subject_types_supported: ['public'],
		id_token_signing_alg_values_supported: [SIGNING_ALG],
		claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'name', 'email', 'email_verified', 'act']
	});
}

/** RFC 7517 §5: the public signing keys (the one that signs, the next, and retired ones still in use). */
export async function jsonWebKeySet(services: Services, context: RequestContext): Promise<OAuthResult> {
	return ok({ keys: (await keyring(services, context.now)).published });
}

/** Reads client_id/secret from the body or HTTP Basic and checks them. */
function authenticate(services: Services, params: Params, context: RequestContext) {
	const result = authenticateClient(services.clients, {
		clientId: params.get('client_id'),
		clientSecret: params.get('client_secret'),
		authorization: context.authorization
	});
	if (!result.ok) {
		const triedBasic = /^Basic\b/i.test(context.authorization ?? '');
		return { ok: false as const, error: invalidClient(result.reason, triedBasic) };
	}
	return result;
}

/**
 * POST /oauth/device_authorization (RFC 8628 §3.1), limited per address and per client. A
 * public client's id is anyone's to name, so its limit counts per client and address:
 * strangers asking in its name use up only their own share, never its other users'.
 */
export async function deviceAuthorizationEndpoint(services: Services, params: Params, context: RequestContext): Promise<OAuthResult> {
	const { config } = services;
	const address = addressKey(context.ip);
	const perIp: ApiLimit = { key: `device-ip:${address}`, limit: config.limits.deviceAuthorizationPerIp, what: 'new codes from this address' };
	const client = authenticate(services, params, context);
	// Requests that fail to authenticate count against their address all the same.
	if (!client.ok) return (await limited(services, perIp, context)) ?? client.error;
	const { id, type } = client.client;
	const perClient: ApiLimit = {
		key: type === 'public' ? `device-client:${id}:${address}` : `device-client:${id}`,
		limit: config.limits.deviceAuthorizationPerClient,
		what: 'new codes for this client'
	};
	const binding = await deviceAuthorizationBinding(services, client.client, params.get('dpop_jkt'), context, endpointUrl(services, PATHS.deviceAuthorization));
	// A refused proof costs a signature check: it counts against its address, like a failed authentication.
	if (!binding.ok) return (await limited(services, perIp, context)) ?? binding.error;
	// Counted with the insert itself: a new code is one round trip, limits included.
	return createDeviceAuthorization(services, client.client, params.get('scope'), binding.jkt, context, config.rateLimits ? [perIp, perClient] : []);
}

/** POST /oauth/token: the device code grant (RFC 8628 §3.4), the authorization code grant (RFC 6749 §4.1.3) and refresh (RFC 6749 §6), each with or without a DPoP proof (RFC 9449 §5). */
export async function tokenEndpoint(services: Services, params: Params, context: RequestContext): Promise<OAuthResult> {
	// Per code, slow_down paces a client; this per-IP ceiling stops a flood of codes.
	const ceiling = await limited(
		services,
		{ key: `token-ip:${addressKey(context.ip)}`, limit: services.config.limits.tokenPerIp, what: 'token requests from this address' },
		context
	);
	if (ceiling) return ceiling;
	const grantType = params.get('grant_type');
	if (!grantType) return invalidRequest('grant_type is required.');
	if (!GRANT_TYPES.includes(grantType)) {
		return unsupportedGrantType(`This server supports grant_type ${GRANT_TYPES.slice(0, -1).join(', ')} and ${GRANT_TYPES.at(-1)}.`);
	}
	const client = authenticate(services, params, context);
	if (!client.ok) return client.error;
	if (!mayUseGrant(client.client, grantType)) return unauthorizedClient(`This client may not use grant_type ${grantType}.`);
	// Checked before the grant: a poll with a bad proof is no poll of its code.
	const binding = await tokenRequestBinding(services, client.client, context, endpointUrl(services, PATHS.token));
	if (!binding.ok) return binding.error;
	if (grantType === 'refresh_token') return refreshTokens(services, client.client, params.get('refresh_token'), binding.jkt, context);
	if (grantType === 'authorization_code') {
		const exchange = { code: params.get('code'), redirectUri: params.get('redirect_uri'), codeVerifier: params.get('code_verifier') };
		return redeemAuthorizationCode(services, client.client, exchange, binding.jkt, context);
	}
	return pollDeviceCode(services, client.client, params.get('device_code'), binding.jkt, context);
}

/** POST /oauth/revoke (RFC 7009): logout for a CLI. A DPoP proof is not needed, but one that is sent must hold. */
export async function revocationEndpoint(services: Services, params: Params, context: RequestContext): Promise<OAuthResult> {
	const client = authenticate(services, params, context);
	if (!client.ok) return client.error;
	if (context.dpop !== null) {
		const proof = await verifyDpopProof(services, context.dpop, { method: context.method, url: endpointUrl(services, PATHS.revocation) }, context.now);
		if (!proof.ok) return invalidDpopProof(proof.reason);
	}
	return revokeToken(services, client.client, params.get('token'), context);
}

/** POST /oauth/introspect (RFC 7662): only for authenticated confidential clients (resource servers). */
export async function introspectionEndpoint(services: Services, params: Params, context: RequestContext): Promise<OAuthResult> {
	const client = authenticate(services, params, context);
	if (!client.ok) return client.error;
	if (client.client.type !== 'confidential') {
		return invalidClient('Introspection is only for confidential clients that authenticate with their secret.', false);
	}
	return introspectToken(services, params.get('token'), context.now);
}

/** GET /oauth/userinfo: who an access token belongs to, as far as its scopes release it (OIDC Core §5.4); a DPoP-bound one with its proof. */
export async function userinfoEndpoint(services: Services, context: RequestContext): Promise<OAuthResult> {
	const authenticated = await authenticateAccessToken(services, context, endpointUrl(services, PATHS.userinfo));
	if (!authenticated.ok) return authenticated.error;
	const { token } = authenticated;
	return ok({
		sub: token.sub,
		provider: token.provider,
		...releasedClaims({ name: token.name, email: token.email, actor: token.approvedBySub }, token.scope),
		scope: token.scope,
		client_id: token.clientId,
		...(token.approvedBySub ? { approved_by: token.approvedBySub } : {})
	});
}
