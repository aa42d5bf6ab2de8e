import { generateSecret, hashSecret } from './crypto';
import { invalidToken, type OAuthError } from './oauth-errors';
import type { Services } from './services';
import type { AccessTokenRow } from './store';

/** Recognisable prefixes, so a leaked token is easy to spot in a log or a secret scanner. */
export const ACCESS_TOKEN_PREFIX = 'dca_';
export const REFRESH_TOKEN_PREFIX = 'dcr_';

export interface TokenResponse {
	access_token: string;
	token_type: 'Bearer';
	expires_in: number;
	refresh_token: string;
	scope: string;
}

/** A new access and refresh token for a grant (RFC 6749 §5.1); only their hashes are kept. */
export function issueTokens({ config, store }: Services, grantId: number, scope: string, now: number): TokenResponse {
	const accessToken = generateSecret(ACCESS_TOKEN_PREFIX);
	const refreshToken = generateSecret(REFRESH_TOKEN_PREFIX);
	store.insertToken(hashSecret(accessToken), grantId, 'access', now, now + config.accessTokenTtl * 1000);
	store.insertToken(hashSecret(refreshToken), grantId, 'refresh', now, now + config.refreshTokenTtl * 1000);
	return {
		access_token: accessToken,
		token_type: 'Bearer',
		expires_in: config.accessTokenTtl,
		refresh_token: refreshToken,
		scope
	};
}

export type BearerResult = { ok: true; token: AccessTokenRow } | { ok: false; error: OAuthError };

/** RFC 6750 §2.1: an access token in the Authorization header, live and not revoked. */
export function authenticateBearer({ store }: Services, authorization: string | null, now: number, ip: string | null): BearerResult {
	const match = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(authorization ?? '');
	if (!match) return { ok: false, error: invalidToken('Send an access token as "Authorization: Bearer <token>".') };
	const token = store.findActiveAccessToken(hashSecret(match[1]), now);
	if (!token) return { ok: false, error: invalidToken('The access token is unknown, expired or revoked.') };
	store.touchGrant(token.grant_id, now, ip);
	return { ok: true, token };
}
