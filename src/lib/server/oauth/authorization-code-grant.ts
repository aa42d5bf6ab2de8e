import { createHash, timingSafeEqual } from 'node:crypto';
import { recordAudit } from '../core/audit';
import type { Client } from '../core/clients';
import { hashSecret } from '../core/crypto';
import { countAuthorizationCode } from '../core/metrics';
import type { RequestContext, Services } from '../core/services';
import { invalidDpopProof, invalidGrant, invalidRequest, ok, type OAuthResult } from './errors';
import { issueTokens } from './tokens';

const REPLAYED = 'The authorization code was already used; the tokens issued from it are now revoked.';
const REFUSED = 'The authorization code is unknown, expired, or was issued to another client.';

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** The fields of a token request with grant_type=authorization_code. */
export interface CodeExchange {
	code: string | undefined;
	redirectUri: string | undefined;
	codeVerifier: string | undefined;
}

/**
 * RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6), for an already authenticated client and the DPoP
 * key its proof proved (or none), as guard clauses: found → replayed → expired → DPoP key (a code
 * bound by dpop_jkt, RFC 9449 §10) → redirect_uri → verifier → redeem. The code is redeemed
 * with its grant and first tokens in one store operation, so it gives tokens exactly once; a
 * code presented again has leaked, and the grant it gave is revoked (RFC 6749 §4.1.2).
 */
export async function redeemAuthorizationCode(
	services: Services,
	client: Client,
	exchange: CodeExchange,
	dpopJkt: string | null,
	context: RequestContext
): Promise<OAuthResult> {
	const { code, redirectUri, codeVerifier } = exchange;
	if (!code) return invalidRequest('code is required.');
	if (!redirectUri) return invalidRequest('redirect_uri is required: the one the authorization request sent.');
	if (!codeVerifier) return invalidRequest('code_verifier is required (PKCE).');
	if (!CODE_VERIFIER.test(codeVerifier)) return invalidRequest('code_verifier must be 43 to 128 characters of letters, digits, "-", ".", "_" or "~".');
	const { store } = services;
	const found = await store.findAuthorizationCode(hashSecret(code));
	if (!found || found.clientId !== client.id) return invalidGrant(REFUSED);
	if (found.consumedAt !== null) return refuseReplayedCode(services, client, found.grantId, context);
	if (found.expiresAt <= context.now) return invalidGrant(REFUSED);
	if (found.dpopJkt !== null && found.dpopJkt !== dpopJkt) {
		return invalidDpopProof(
			dpopJkt === null
				? 'This authorization code is bound to a DPoP key (dpop_jkt): send a DPoP proof signed by it.'
				: 'This authorization code is bound to another DPoP key.'
		);
	}
	if (found.redirectUri !== redirectUri) return invalidGrant('redirect_uri is not the one the authorization request sent.');
	if (!verifierMatches(codeVerifier, found.codeChallenge)) return invalidGrant('The code_verifier does not match the code_challenge (PKCE).');
	const subject = {
		sub: found.sub,
		name: found.name,
		email: found.email,
		scope: found.scope,
		authTime: found.createdAt,
		actor: null,
		...(found.nonce !== null ? { nonce: found.nonce } : {})
	};
	const tokens = await issueTokens(services, client, subject, dpopJkt, context.now);
	const redeemed = await store.redeemAuthorizationCode(found.id, tokens.stored, context.ip, context.now);
	if (!redeemed) {
		// Another request redeemed it meanwhile: this one presented it twice.
		const winner = await store.findAuthorizationCode(hashSecret(code));
		return refuseReplayedCode(services, client, winner?.grantId ?? null, context);
	}
	countAuthorizationCode('redeemed');
	// Beyond RFC 6749's fields, as the device grant answers: whose tokens these are.
	return ok({ ...tokens.response, sub: redeemed.ownerSub });
}

/** RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge, compared in constant time. */
function verifierMatches(codeVerifier: string, codeChallenge: string): boolean {
	const computed = createHash('sha256').update(codeVerifier, 'ascii').digest();
	const expected = Buffer.from(codeChallenge, 'base64url');
	return computed.length === expected.length && timingSafeEqual(computed, expected);
}

/** A code redeemed twice has leaked: end what it gave out, and say so in the audit log. */
async function refuseReplayedCode(services: Services, client: Client, grantId: number | null, context: RequestContext): Promise<OAuthResult> {
	countAuthorizationCode('replayed');
	if (grantId !== null) {
		await services.store.revokeGrant(grantId, context.now);
		await recordAudit(
			services,
			{
				actor: null,
				action: 'grant.revoked_replayed_authorization_code',
				clientId: client.id,
				ip: context.ip,
				detail: `grant ${grantId}: its authorization code was presented again after it was redeemed, so it leaked`
			},
			context.now
		);
	}
	return invalidGrant(REPLAYED);
}
