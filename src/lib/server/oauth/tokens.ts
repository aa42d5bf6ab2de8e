import { recordAudit } from '../core/audit';
import { mayUseGrant, PERSONAL_CLIENT_ID, type Client } from '../core/clients';
import type { Config } from '../core/config';
import { generateSecret, hashSecret } from '../core/crypto';
import { proveTokenPossession } from './dpop';
import { invalidDpopProof, invalidGrant, invalidRequest, invalidToken, missingToken, ok, type OAuthError, type OAuthResult } from './errors';
import type { RequestContext, Services } from '../core/services';
import { approvalVerdict } from './device-authorizations';
import { accessTokenAudience, signAccessToken, signIdToken, type TokenSubject } from './jwt';
import type { ActiveAccessToken, NewTokenPair, TokenState } from '../store/store';
import { msFromSeconds, wholeSecondsOf } from '../core/time';

/** Recognisable prefixes, so a leaked token is easy to spot in a log or a secret scanner. */
export const ACCESS_TOKEN_PREFIX = 'dca_';
export const REFRESH_TOKEN_PREFIX = 'dcr_';
export const PERSONAL_TOKEN_PREFIX = 'dcp_';

/** RFC 6749 §5.1, with OpenID Connect's id_token when `openid` was granted; a DPoP-bound access token is of type DPoP (RFC 9449 §5.1). */
export interface TokenResponse {
	access_token: string;
	token_type: 'Bearer' | 'DPoP';
	expires_in: number;
	/** Only for a client whose grant_types include refresh_token. */
	refresh_token?: string;
	scope: string;
	id_token?: string;
}

/** New tokens: the answer to send, and the hashes, the only form that is stored. */
export interface IssuedTokens {
	response: TokenResponse;
	stored: NewTokenPair;
}

/** How long a client's access tokens live: its access_token_ttl, else ACCESS_TOKEN_TTL. */
export function accessTokenLifetime(config: Config, client: Client): number {
	return client.accessTokenTtlSeconds ?? config.accessTokenTtlSeconds;
}

/**
 * A new access token (opaque, or an RFC 9068 JWT for a client that asked for them), a new
 * refresh token when the client may refresh, and an ID token when `openid` was granted. A
 * JWT is stored like an opaque token, by its hash, so userinfo, introspection and
 * revocation treat both alike. With a DPoP key (its thumbprint, `dpopJkt`) the access token
 * is bound to it, and so is a public client's refresh token (RFC 9449 §5): a confidential
 * client's is bound by its secret already.
 */
export async function issueTokens(services: Services, client: Client, subject: TokenSubject, dpopJkt: string | null, now: number): Promise<IssuedTokens> {
	const { config } = services;
	const lifetime = accessTokenLifetime(config, client);
	const accessToken =
		client.accessTokenFormat === 'jwt'
			? await signAccessToken(services, client, subject, { jti: generateSecret(), dpopJkt }, now, lifetime)
			: generateSecret(ACCESS_TOKEN_PREFIX);
	const refreshToken = mayUseGrant(client, 'refresh_token') ? generateSecret(REFRESH_TOKEN_PREFIX) : null;
	const idToken = subject.scope.split(' ').includes('openid') ? await signIdToken(services, client, subject, now, lifetime) : undefined;
	return {
		response: {
			access_token: accessToken,
			token_type: dpopJkt === null ? 'Bearer' : 'DPoP',
			expires_in: lifetime,
			...(refreshToken ? { refresh_token: refreshToken } : {}),
			scope: subject.scope,
			...(idToken ? { id_token: idToken } : {})
		},
		stored: {
			accessTokenHash: hashSecret(accessToken),
			accessExpiresAt: now + msFromSeconds(lifetime),
			accessDpopJkt: dpopJkt,
			refreshTokenHash: refreshToken ? hashSecret(refreshToken) : null,
			refreshExpiresAt: now + msFromSeconds(client.refreshTokenTtlSeconds ?? config.refreshTokenTtlSeconds),
			refreshDpopJkt: client.type === 'public' ? dpopJkt : null
		}
	};
}

/**
 * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): a refresh token is retired as it is
 * used and replaced; presenting a retired one means it leaked, so the grant ends. A refresh
 * token bound to a DPoP key needs a proof by that key (`dpopJkt`), or nothing happens to it.
 */
export async function refreshTokens(
	services: Services,
	client: Client,
	refreshToken: string | undefined,
	dpopJkt: string | null,
	context: RequestContext
): Promise<OAuthResult> {
	if (!refreshToken) return invalidRequest('refresh_token is required.');
	const tokenHash = hashSecret(refreshToken);
	// The new tokens name the grant's owner: read it first. A token that cannot be rotated is
	// refused (or, used before, ends its grant) before anything is signed.
	const state = await services.store.findTokenState(tokenHash);
	if (!state || state.kind !== 'refresh' || state.clientId !== client.id || state.revokedAt !== null) return invalidGrant(REFRESH_REFUSED);
	if (state.retiredAt !== null) {
		await services.store.revokeGrant(state.grantId, context.now);
		return refuseReusedRefreshToken(services, client, state.grantId, state.sub, context);
	}
	if (state.expiresAt <= context.now) return invalidGrant(REFRESH_REFUSED);
	// RFC 9449 §5.0: a copied refresh token is of no use without its key; it is refused, not retired.
	if (state.dpopJkt !== null && state.dpopJkt !== dpopJkt) {
		return invalidDpopProof('This refresh token is bound to a DPoP key: send a DPoP proof signed by that key.');
	}
	// The owner as of their last sign-in, against the client's rule as it is now.
	const verdict = approvalVerdict(services, client.id, state);
	if (!verdict.admitted) return refuseOwnerOutsideRule(services, client, state, verdict.reason, context);
	const subject = { sub: state.sub, name: state.name, email: state.email, scope: state.scope, authTime: state.authTime, actor: state.approvedBySub };
	const next = await issueTokens(services, client, subject, dpopJkt, context.now);
	// Rotating is the decision: of two refreshes with one token, one wins and the other is a reuse.
	const rotation = await services.store.rotateRefreshToken(tokenHash, client.id, next.stored, context.now);
	if (rotation.outcome === 'rotated') return ok(next.response);
	// A refresh that lost the race found its token used: the store has revoked the grant.
	if (rotation.outcome === 'reused') return refuseReusedRefreshToken(services, client, rotation.grantId, rotation.sub, context);
	return invalidGrant(REFRESH_REFUSED);
}

/** RFC 9700 §4.14.2: a refresh token presented again has leaked; its grant (revoked by the caller) is audited and the CLI told. */
async function refuseReusedRefreshToken(services: Services, client: Client, grantId: number, sub: string, context: RequestContext): Promise<OAuthResult> {
	await recordAudit(
		services,
		{
			actor: null,
			action: 'grant.revoked_reused_refresh_token',
			clientId: client.id,
			subject: sub,
			ip: context.ip,
			detail: `grant ${grantId}: a used refresh token was presented again, so it leaked`
		},
		context.now
	);
	return invalidGrant('This refresh token was already used, so the login it belongs to is now revoked. Log in again.');
}

/**
 * SPEC "Who may approve": a person who no longer matches the client's `allow` (their provider's
 * answer at their last sign-in, or a rule changed since) gets no new tokens. The grant stays:
 * should they match again, their refresh token works again.
 */
async function refuseOwnerOutsideRule(services: Services, client: Client, state: TokenState, reason: string, context: RequestContext): Promise<OAuthResult> {
	await recordAudit(
		services,
		{ actor: null, action: 'grant.refresh_refused', clientId: client.id, subject: state.sub, ip: context.ip, detail: `grant ${state.grantId}: ${reason}` },
		context.now
	);
	return invalidGrant(`This account may no longer use this application. ${reason} Log in again with an account it admits.`);
}

const REFRESH_REFUSED = 'The refresh token is unknown, expired or revoked. Log in again.';

/**
 * RFC 7009: revoking a refresh token ends its grant; revoking an access token ends that
 * token. Unknown tokens, and tokens of other clients, are answered 200 all the same.
 */
export async function revokeToken(services: Services, client: Client, token: string | undefined, context: RequestContext): Promise<OAuthResult> {
	if (!token) return invalidRequest('token is required.');
	const { store } = services;
	const tokenHash = hashSecret(token);
	const state = await store.findTokenState(tokenHash);
	if (state && state.clientId === client.id) {
		if (state.kind === 'refresh') await store.revokeGrant(state.grantId, context.now);
		else await store.retireAccessToken(tokenHash, context.now);
		const what = state.kind === 'refresh' ? 'grant.revoked_by_client' : 'token.revoked_by_client';
		await recordAudit(
			services,
			{ actor: null, action: what, clientId: client.id, subject: state.sub, ip: context.ip, detail: `grant ${state.grantId}` },
			context.now
		);
	}
	return ok({});
}

/**
 * A token of a client disabled or deleted (or dropped from CLIENTS_FILE) is refused: its
 * logins end everywhere within 2 seconds. Personal access tokens belong to no client.
 */
function clientStillEnabled({ clients }: Services, clientId: string): boolean {
	return clientId === PERSONAL_CLIENT_ID || clients.has(clientId);
}

/** RFC 7662 §2.2: what a resource server may know about a token; inactive says nothing more. */
export async function introspectToken(services: Services, token: string | undefined, now: number): Promise<OAuthResult> {
	if (!token) return invalidRequest('token is required.');
	const state = await services.store.findTokenState(hashSecret(token));
	if (!state || state.retiredAt !== null || state.revokedAt !== null || state.expiresAt <= now || !clientStillEnabled(services, state.clientId)) {
		return ok({ active: false });
	}
	const audience = state.kind === 'access' ? accessTokenAudienceOf(services, state.clientId) : undefined;
	return ok({
		active: true,
		sub: state.sub,
		scope: state.scope,
		client_id: state.clientId,
		token_type: state.kind === 'refresh' ? 'refresh_token' : state.dpopJkt === null ? 'Bearer' : 'DPoP',
		exp: wholeSecondsOf(state.expiresAt),
		iat: wholeSecondsOf(state.createdAt),
		// RFC 7662 §2.2: whom the token is meant for, so a resource server can refuse another API's.
		...(audience ? { aud: audience } : {}),
		...(state.approvedBySub !== null ? { act: { sub: state.approvedBySub } } : {}),
		// RFC 9449 §6.2: the key a resource server must see a proof of.
		...(state.dpopJkt !== null ? { cnf: { jkt: state.dpopJkt } } : {})
	});
}

/** The `aud` of a client's access tokens: its `audience` for JWT access tokens, else this server. */
function accessTokenAudienceOf(services: Services, clientId: string): string {
	const client = services.clients.get(clientId);
	return client?.accessTokenFormat === 'jwt' ? accessTokenAudience(services, client) : services.config.origin;
}

export type AccessTokenResult = { ok: true; token: ActiveAccessToken } | { ok: false; error: OAuthError };

/**
 * RFC 6750 §2.1 and RFC 9449 §7: an access token in the Authorization header, live and not
 * revoked; a DPoP-bound one as "DPoP <token>" with a proof of its key for this request at `url`.
 */
export async function authenticateAccessToken(services: Services, context: RequestContext, url: string): Promise<AccessTokenResult> {
	const { authorization, now } = context;
	if (!authorization) return { ok: false, error: missingToken('Send an access token as "Authorization: Bearer <token>".') };
	const match = /^(Bearer|DPoP)\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(authorization);
	if (!match) return { ok: false, error: invalidToken('Send an access token as "Authorization: Bearer <token>" (or "DPoP <token>" with a DPoP proof).') };
	const presented = { scheme: match[1].toLowerCase() === 'dpop' ? ('DPoP' as const) : ('Bearer' as const), token: match[2] };
	const token = await services.store.findActiveAccessToken(hashSecret(presented.token), now);
	if (!token || !clientStillEnabled(services, token.clientId)) return { ok: false, error: invalidToken('The access token is unknown, expired or revoked.') };
	// RFC 9068 §4: a JWT access token made for another API is not for doorcode's own endpoints.
	if (accessTokenAudienceOf(services, token.clientId) !== services.config.origin) {
		return { ok: false, error: invalidToken('The access token is meant for another API (its aud), not for this server.') };
	}
	const possession = await proveTokenPossession(services, token.dpopJkt, presented, context, url);
	if (!possession.ok) return possession;
	await services.store.touchGrant(token.grantId, now, context.ip);
	return { ok: true, token };
}
