import { OAUTH_RESPONSE_HEADERS } from '../core/headers';

/** What an OAuth endpoint answers: status, JSON body, extra headers. No framework types. */
export interface OAuthResult {
	status: number;
	body: unknown;
	headers?: Record<string, string>;
}

/**
 * The one OAuth error type: an RFC 6749 §5.2 error object with the HTTP status
 * RFC 6749, 6750, 7009, 7662 and 8628 give it. It is itself an answer: endpoints return
 * it as a value, and `serializeOAuth` is the one serializer that writes it. Made only by
 * the named factories below, one for each error an RFC defines.
 */
export class OAuthError implements OAuthResult {
	readonly name = 'OAuthError';
	constructor(
		readonly status: number,
		readonly error: string,
		readonly description: string,
		readonly headers: Record<string, string> = {}
	) {}

	get body(): { error: string; error_description: string } {
		return { error: this.error, error_description: this.description };
	}
}

export const invalidRequest = (description: string) => new OAuthError(400, 'invalid_request', description);
export const invalidGrant = (description: string) => new OAuthError(400, 'invalid_grant', description);
export const invalidScope = (description: string) => new OAuthError(400, 'invalid_scope', description);
export const unsupportedGrantType = (description: string) => new OAuthError(400, 'unsupported_grant_type', description);
/** RFC 6749 §5.2: an authenticated client asking for a grant its grant_types do not allow. */
export const unauthorizedClient = (description: string) => new OAuthError(400, 'unauthorized_client', description);
/** RFC 6749 §5.2: 401, with a challenge when the client tried HTTP Basic. */
export const invalidClient = (description: string, triedBasic: boolean) =>
	new OAuthError(401, 'invalid_client', description, triedBasic ? { 'WWW-Authenticate': 'Basic realm="doorcode"' } : {});
/** RFC 6750 §3.1: a request with no token at all gets a bare challenge, no error code. */
export const missingToken = (description: string) => new OAuthError(401, 'invalid_token', description, { 'WWW-Authenticate': 'Bearer realm="doorcode"' });
/** RFC 6750 §3.1. */
export const invalidToken = (description: string) =>
	new OAuthError(401, 'invalid_token', description, {
		'WWW-Authenticate': `Bearer realm="doorcode", error="invalid_token", error_description="${description.replace(/["\\]/g, '')}"`
	});
/** RFC 9449 §5: a token or device authorization request whose DPoP proof is missing (where one is required), bad, or by the wrong key. */
export const invalidDpopProof = (description: string) => new OAuthError(400, 'invalid_dpop_proof', description);
/**
 * RFC 9449 §7.1: a resource request refused in the DPoP scheme, with the algorithms a proof may
 * use: a bad proof (invalid_dpop_proof), or a bound token without its proof or key (invalid_token).
 */
export const dpopChallenge = (error: 'invalid_dpop_proof' | 'invalid_token', description: string, algorithms: readonly string[]) =>
	new OAuthError(401, error, description, {
		'WWW-Authenticate': `DPoP algs="${algorithms.join(' ')}", error="${error}", error_description="${description.replace(/["\\]/g, '')}"`
	});
/** RFC 8628 §3.5: the answers to a poll while the person has not finished. */
export const authorizationPending = (description: string) => new OAuthError(400, 'authorization_pending', description);
export const slowDown = (description: string) => new OAuthError(400, 'slow_down', description);
export const accessDenied = (description: string) => new OAuthError(400, 'access_denied', description);
export const expiredToken = (description: string) => new OAuthError(400, 'expired_token', description);
export const noSuchEndpoint = () => new OAuthError(404, 'invalid_request', 'There is no such endpoint.');
export const unreadableBody = () => new OAuthError(400, 'invalid_request', 'The request body could not be read.');
export const payloadTooLarge = (limit: number) => new OAuthError(413, 'invalid_request', `The request body is larger than ${limit} bytes.`);
export const methodNotAllowed = (allowed: string) => new OAuthError(405, 'invalid_request', `Use ${allowed} for this endpoint.`, { Allow: allowed });
/** A rate limit: 429 with Retry-After (RFC 6585 §4) and an RFC 6749 error object. */
export const tooManyRequests = (retryAfter: number, description: string) =>
	new OAuthError(429, 'temporarily_unavailable', `${description} Retry after ${retryAfter} seconds.`, { 'Retry-After': String(retryAfter) });
export const serverError = () => new OAuthError(500, 'server_error', 'The server could not complete the request. Try again later.');
/** The database is briefly out of reach: RFC 6749's temporarily_unavailable, with when to try again. */
export const databaseUnavailable = () =>
	new OAuthError(503, 'temporarily_unavailable', 'The service cannot reach its database right now. Retry in a few seconds.', { 'Retry-After': '5' });

export function ok(body: unknown, headers?: Record<string, string>): OAuthResult {
	return { status: 200, body, headers };
}

/**
 * The one serializer of OAuth answers, for the fast path and SvelteKit alike: JSON,
 * no-store, the headers every response carries (`common`), then the answer's own.
 */
export function serializeOAuth({ status, body, headers }: OAuthResult, common: Record<string, string> = {}) {
	const allHeaders: Record<string, string> = { ...OAUTH_RESPONSE_HEADERS, ...common, ...headers };
	return { status, headers: allHeaders, body: JSON.stringify(body) };
}

export function oauthJson(result: OAuthResult, common: Record<string, string> = {}): Response {
	const { status, headers, body } = serializeOAuth(result, common);
	return new Response(body, { status, headers });
}
