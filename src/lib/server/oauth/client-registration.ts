import { randomBytes } from 'node:crypto';
import { clientDeclaration, DEFAULT_GRANT_TYPES } from '../core/clients';
import { generateSecret, hexDigestsEqual, sha256Hex } from '../core/crypto';
import { addressKey } from '../core/rate-limit';
import type { RequestContext, Services } from '../core/services';
import type { StoredClient } from '../store/store';
import { addClient, changeClient, removeClient, type ClientEditor } from './client-registry';
import { invalidClientMetadata, invalidRedirectUri, invalidToken, missingToken, noSuchEndpoint, ok, type OAuthError, type OAuthResult } from './errors';
import { limited } from './limits';
import type { JsonObjectResult } from './request-params';

/**
 * RFC 7591 dynamic client registration and RFC 7592 client management, open while
 * REGISTRATION_TOKEN is set. A registration is a client declaration like any other, made
 * through client-registry.ts (the one parse, audited, seen everywhere within 2 seconds),
 * managed by `registration`. A registrant names only what RFC 7591 defines (name,
 * redirect URIs, grant types, auth method, scope within REGISTRATION_SCOPES) and RFC 9449's
 * dpop_bound_access_tokens; lifetimes,
 * `allow` and the rest stay the admins' to set on /admin/clients, and an RFC 7592 update
 * keeps them.
 */

/** Where registration is served; RFC 7592's client configuration endpoint is `${REGISTRATION_PATH}/<client_id>`. */
export const REGISTRATION_PATH = '/oauth/register';

/** Recognisable, like the other tokens' prefixes, so a leaked one is easy to spot. */
const REGISTRATION_TOKEN_PREFIX = 'dcr_';

const AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;
type AuthMethod = (typeof AUTH_METHODS)[number];

const REGISTRAR: Omit<ClientEditor, 'ip'> = { actor: 'registration' };

export function registrationOpen({ config }: Services): boolean {
	return config.registrationToken !== null;
}

/** POST /oauth/register (RFC 7591 §3): 201 with the client's id, its secret once, and how to manage it. */
export async function registerClient(services: Services, body: JsonObjectResult, context: RequestContext): Promise<OAuthResult> {
	const refused = await gate(services, context);
	if (refused) return refused;
	const initialToken = bearerToken(context.authorization);
	if (initialToken === null) return missingToken('Registration needs the registration token as a Bearer token.');
	if (!hexDigestsEqual(sha256Hex(initialToken), sha256Hex(services.config.registrationToken ?? ''))) {
		return invalidToken('The registration token is not valid.');
	}
	if (!body.ok) return body.error;
	const clientId = `dc-${randomBytes(12).toString('base64url')}`;
	const registered = registeredSettings(services, body.object, clientId);
	if (!registered.ok) return registered.error;
	const accessToken = generateSecret(REGISTRATION_TOKEN_PREFIX);
	const registration = { accessTokenSha256: sha256Hex(accessToken), tokenEndpointAuthMethod: registered.authMethod };
	const added = await addClient(services, editorOf(context), { id: clientId, ...registered.declaration }, 'registration', context.now, registration);
	if (!added.ok) return refusedMetadata(added);
	return { status: 201, body: clientInformation(services, added.client, accessToken, added.secret) };
}

/** GET /oauth/register/<client_id> (RFC 7592 §2.1). */
export async function readRegisteredClient(services: Services, clientId: string, context: RequestContext): Promise<OAuthResult> {
	const found = await registeredClient(services, clientId, context);
	if (!found.ok) return found.error;
	return ok(clientInformation(services, found.client, found.accessToken, null));
}

/**
 * PUT /oauth/register/<client_id> (RFC 7592 §2.2): the registered metadata replaced by the
 * request's (what it leaves out takes its default); an admin's settings stay. A client that
 * turns confidential gets its secret in this answer, once.
 */
export async function updateRegisteredClient(services: Services, clientId: string, body: JsonObjectResult, context: RequestContext): Promise<OAuthResult> {
	const found = await registeredClient(services, clientId, context);
	if (!found.ok) return found.error;
	if (!body.ok) return body.error;
	const metadata = body.object;
	if (metadata.client_id !== clientId) return invalidClientMetadata('client_id must be the id of the client being updated.');
	for (const field of ['registration_access_token', 'registration_client_uri', 'client_secret_expires_at', 'client_id_issued_at']) {
		if (field in metadata) return invalidClientMetadata(`${field} is the server's to say; leave it out of the update (RFC 7592 §2.2).`);
	}
	if (metadata.client_secret !== undefined && !hexDigestsEqual(sha256Hex(String(metadata.client_secret)), found.client.secretSha256 ?? '')) {
		return invalidClientMetadata('client_secret is not this client\u2019s secret; leave it out to keep the secret.');
	}
	const registered = registeredSettings(services, metadata, clientId);
	if (!registered.ok) return registered.error;
	// The secret's hash left out: changeClient keeps it, or makes one for a client turning confidential.
	const kept = clientDeclaration({ ...found.client, secretSha256: undefined });
	const registration = { accessTokenSha256: sha256Hex(found.accessToken), tokenEndpointAuthMethod: registered.authMethod };
	const changed = await changeClient(services, editorOf(context), { ...kept, ...registered.declaration }, context.now, registration);
	if (!changed.ok) return refusedMetadata(changed);
	return ok(clientInformation(services, changed.client, found.accessToken, changed.secret));
}

/** DELETE /oauth/register/<client_id> (RFC 7592 §2.3): the client and its grants gone; 204. */
export async function deleteRegisteredClient(services: Services, clientId: string, context: RequestContext): Promise<OAuthResult> {
	const found = await registeredClient(services, clientId, context);
	if (!found.ok) return found.error;
	const removed = await removeClient(services, editorOf(context), clientId, context.now);
	if (!removed.ok) return invalidToken('The client is gone.');
	return { status: 204, body: undefined };
}

/** Closed registration answers 404 (no such endpoint); open, every request counts against its address's limit. */
async function gate(services: Services, context: RequestContext): Promise<OAuthResult | null> {
	if (!registrationOpen(services)) return noSuchEndpoint();
	const limit = {
		key: `register-ip:${addressKey(context.ip)}`,
		limit: services.config.limits.registrationPerIp,
		what: 'registration requests from this address'
	};
	return limited(services, limit, context);
}

/**
 * RFC 7592 §2: the client at this URI, by its registration access token. An unknown client,
 * a client registration did not make, a disabled one and a wrong token are answered alike
 * (401 invalid_token), so the endpoint says nothing of clients to whoever lacks their token.
 */
async function registeredClient(
	services: Services,
	clientId: string,
	context: RequestContext
): Promise<{ ok: true; client: StoredClient; accessToken: string } | { ok: false; error: OAuthResult }> {
	const refused = await gate(services, context);
	if (refused) return { ok: false, error: refused };
	const accessToken = bearerToken(context.authorization);
	if (accessToken === null) return { ok: false, error: missingToken('Send the registration access token as a Bearer token.') };
	const client = await services.store.findClient(clientId);
	const expected = client?.registration?.accessTokenSha256 ?? '0'.repeat(64);
	if (!hexDigestsEqual(sha256Hex(accessToken), expected) || !client?.registration || client.disabledAt !== null) {
		return { ok: false, error: invalidToken('The registration access token is not valid for this client.') };
	}
	return { ok: true, client, accessToken };
}

function bearerToken(authorization: string | null): string | null {
	const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
	return match ? match[1] : null;
}

function editorOf(context: RequestContext): ClientEditor {
	return { ...REGISTRAR, ip: context.ip };
}

type RegisteredSettings = { ok: true; declaration: Record<string, unknown>; authMethod: AuthMethod } | { ok: false; error: OAuthError };

/**
 * RFC 7591 §2's metadata as a client declaration (SPEC's names): client_name, redirect_uris,
 * grant_types, token_endpoint_auth_method and scope. Metadata doorcode does not know is
 * ignored, as §2 says; each bad field is refused with its name.
 */
function registeredSettings({ config }: Services, metadata: Record<string, unknown>, clientId: string): RegisteredSettings {
	const refuse = (description: string) => ({ ok: false as const, error: invalidClientMetadata(description) });
	const { client_name, token_endpoint_auth_method, scope, grant_types, redirect_uris, dpop_bound_access_tokens } = metadata;
	if (client_name !== undefined && (typeof client_name !== 'string' || client_name.trim() === '' || client_name.length > 100)) {
		return refuse('client_name must be a non-empty string of at most 100 characters.');
	}
	// RFC 7591 §2: client_secret_basic when not given.
	const authMethod = token_endpoint_auth_method ?? 'client_secret_basic';
	if (!AUTH_METHODS.includes(authMethod as AuthMethod)) {
		return refuse(`token_endpoint_auth_method must be one of ${AUTH_METHODS.map((method) => `"${method}"`).join(', ')}.`);
	}
	if (scope !== undefined && typeof scope !== 'string') return refuse('scope must be a string of space-separated scope names.');
	const scopes = scope === undefined ? config.registrationScopes : [...new Set(scope.split(' ').filter(Boolean))];
	const outside = scopes.filter((name) => !config.registrationScopes.includes(name));
	if (outside.length > 0) {
		return refuse(`scope may name only ${config.registrationScopes.join(' ')} (not ${outside.map((name) => JSON.stringify(name)).join(', ')}).`);
	}
	return {
		ok: true,
		authMethod: authMethod as AuthMethod,
		declaration: {
			name: typeof client_name === 'string' ? client_name : clientId,
			type: authMethod === 'none' ? 'public' : 'confidential',
			scopes,
			// doorcode's default, not RFC 7591's (authorization_code): it is a device login server. The answer says which.
			grant_types: grant_types ?? DEFAULT_GRANT_TYPES,
			redirect_uris,
			// RFC 9449 §5.2's own registration metadata.
			dpop_bound_access_tokens
		}
	};
}

/** The parse's refusal as RFC 7591 §3.2.2 names it: a redirect URI's own error, or the metadata's. */
function refusedMetadata(refusal: { message: string }): OAuthError {
	const description = `${refusal.message}.`;
	return /redirect_uris/.test(refusal.message) ? invalidRedirectUri(description) : invalidClientMetadata(description);
}

/**
 * RFC 7591 §3.2.1 and RFC 7592 §3: the client's registered metadata, its registration access
 * token and where to use it, and a new client secret when there is one (shown this once).
 */
function clientInformation({ config }: Services, client: StoredClient, accessToken: string, secret: string | null) {
	const grantTypes = client.grantTypes ?? DEFAULT_GRANT_TYPES;
	return {
		client_id: client.id,
		...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
		client_id_issued_at: Math.floor(client.createdAt / 1000),
		registration_access_token: accessToken,
		registration_client_uri: `${config.origin}${REGISTRATION_PATH}/${encodeURIComponent(client.id)}`,
		client_name: client.name,
		...(client.redirectUris ? { redirect_uris: client.redirectUris } : {}),
		grant_types: grantTypes,
		response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
		token_endpoint_auth_method: authMethodOf(client),
		scope: client.scopes.join(' '),
		...(client.dpopBoundAccessTokens ? { dpop_bound_access_tokens: true } : {})
	};
}

/** As registered, unless an admin has since changed the client's type: then its type's. */
function authMethodOf(client: StoredClient): AuthMethod {
	const registered = client.registration?.tokenEndpointAuthMethod;
	if (registered && (registered === 'none') === (client.type === 'public')) return registered;
	return client.type === 'public' ? 'none' : 'client_secret_basic';
}
