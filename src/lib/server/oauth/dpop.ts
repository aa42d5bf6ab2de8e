import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Client } from '../core/clients';
import { hashSecret } from '../core/crypto';
import type { RequestContext, Services } from '../core/services';
import { msFromSeconds, wholeSecondsOf } from '../core/time';
import { dpopChallenge, invalidDpopProof, invalidRequest, type OAuthError } from './errors';

/**
 * DPoP (RFC 9449): proofs that a client holds a key, and what binds to it. A proof is a JWT
 * the client signs for one request with the key it embeds; jose verifies it (EmbeddedJWK)
 * and computes the key's thumbprint (RFC 7638), the `jkt` that device codes and tokens are
 * bound to. Every endpoint that takes proofs checks them here, for any grant.
 */

/** The proof signing algorithms doorcode accepts (the metadata's dpop_signing_alg_values_supported). */
export const DPOP_SIGNING_ALGS = ['ES256', 'EdDSA', 'RS256', 'PS256'] as const;

/** How far a proof's iat may be from now, either way: its window, and how long its jti is remembered. */
export const DPOP_PROOF_WINDOW_SECONDS = 60;

/** What a proof must have been made for: this request's method and URL, and at a resource, its access token. */
export interface ProofTarget {
	method: string;
	/** The endpoint's URL under ORIGIN, without query or fragment. */
	url: string;
	/** At a resource endpoint: the access token the proof's `ath` must hash. */
	accessToken?: string;
}

type Refusal = { ok: false; reason: string };
export type ProofCheck = { ok: true; jkt: string } | Refusal;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** A SHA-256 JWK thumbprint, base64url: 43 characters. */
const JKT = /^[A-Za-z0-9_-]{43}$/;

/**
 * RFC 9449 §4.3: checks a DPoP proof for `target` and, only when everything else holds,
 * remembers its jti (on every instance, through the store) so that it works once.
 */
export async function verifyDpopProof(services: Services, proof: string, target: ProofTarget, now: number): Promise<ProofCheck> {
	if (!COMPACT_JWS.test(proof)) return refuse('The DPoP header must be one signed JWT (a DPoP proof).');
	let header: ReturnType<typeof decodeProtectedHeader>;
	try {
		header = decodeProtectedHeader(proof);
	} catch {
		return refuse('The DPoP proof is not a JWT.');
	}
	// EmbeddedJWK refuses a private key too; said first, since the client has just published it.
	if (typeof header.jwk === 'object' && header.jwk !== null && 'd' in header.jwk) {
		return refuse('The DPoP proof embeds a private key: embed the public key only, and make a new key pair.');
	}
	let payload: JWTPayload;
	try {
		({ payload } = await jwtVerify(proof, EmbeddedJWK, {
			typ: 'dpop+jwt',
			algorithms: [...DPOP_SIGNING_ALGS],
			requiredClaims: ['jti', 'htm', 'htu', 'iat'],
			currentDate: new Date(now)
		}));
	} catch (caught) {
		return refuse(joseRefusal(caught));
	}
	const claims = checkClaims(payload, target, now);
	if (!claims.ok) return claims;
	const jkt = await calculateJwkThumbprint(header.jwk!, 'sha256');
	const remembered = await services.store.recordDpopProof(hashSecret(`${jkt} ${claims.jti}`), msFromSeconds(claims.iat + DPOP_PROOF_WINDOW_SECONDS), now);
	if (!remembered) return refuse('This DPoP proof was used before: make a new proof, with a new jti, for every request.');
	return { ok: true, jkt };
}

function refuse(reason: string): Refusal {
	return { ok: false, reason };
}

/** What each of jose's refusals means for a DPoP proof, in words a client's author can act on. */
function joseRefusal(caught: unknown): string {
	if (caught instanceof errors.JOSEAlgNotAllowed) return `The DPoP proof's alg must be one of ${DPOP_SIGNING_ALGS.join(', ')}.`;
	if (caught instanceof errors.JWSSignatureVerificationFailed) return "The DPoP proof's signature does not verify with the key it embeds.";
	if (caught instanceof errors.JWTExpired) return 'The DPoP proof has expired (its exp).';
	if (caught instanceof errors.JWTClaimValidationFailed) {
		if (caught.claim === 'typ') return 'The DPoP proof\'s typ must be "dpop+jwt".';
		if (caught.reason === 'missing') return `The DPoP proof has no ${caught.claim} claim.`;
		return `The DPoP proof's ${caught.claim} claim is not valid.`;
	}
	if (caught instanceof errors.JWSInvalid || caught instanceof errors.JOSENotSupported) {
		return 'The DPoP proof must embed its public key (jwk) in its header, of a kind its alg signs with.';
	}
	return 'The DPoP proof is not a valid signed JWT.';
}

/** The claims RFC 9449 §4.3 checks after the signature: for this request, made about now, and at a resource for its token. */
function checkClaims(payload: JWTPayload, target: ProofTarget, now: number): { ok: true; jti: string; iat: number } | Refusal {
	const { jti, htm, htu, iat, ath } = payload as JWTPayload & { htm?: unknown; htu?: unknown; ath?: unknown };
	if (typeof jti !== 'string' || jti === '') return refuse('The DPoP proof needs a jti: a new random identifier for every proof.');
	if (htm !== target.method) return refuse(`The DPoP proof was made for another method (its htm); this request is ${target.method}.`);
	if (typeof htu !== 'string' || withoutQuery(htu) !== withoutQuery(target.url)) {
		return refuse(`The DPoP proof was made for another URL (its htu); this endpoint is ${target.url}.`);
	}
	const age = wholeSecondsOf(now) - (iat as number);
	if (age > DPOP_PROOF_WINDOW_SECONDS) return refuse(`The DPoP proof is too old: its iat must be within ${DPOP_PROOF_WINDOW_SECONDS} seconds of now.`);
	if (age < -DPOP_PROOF_WINDOW_SECONDS) {
		return refuse(`The DPoP proof was made in the future: its iat must be within ${DPOP_PROOF_WINDOW_SECONDS} seconds of now. Check this machine's clock.`);
	}
	if (target.accessToken !== undefined && ath !== accessTokenHash(target.accessToken)) {
		return refuse("The DPoP proof was made for another access token (its ath must be the token's base64url SHA-256).");
	}
	return { ok: true, jti, iat: iat as number };
}

/** RFC 9449 §4.3: htu is compared without its query and fragment, after URL normalization. */
function withoutQuery(url: string): string | null {
	if (!URL.canParse(url)) return null;
	const parsed = new URL(url);
	return `${parsed.origin}${parsed.pathname}`;
}

/** RFC 9449 §4.2: the `ath` of a proof sent with an access token. */
export function accessTokenHash(accessToken: string): string {
	return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

export type Binding = { ok: true; jkt: string | null } | { ok: false; error: OAuthError };

/**
 * RFC 9449 §5: the key a token request binds its tokens to, for any grant: its proof's, or none
 * without a proof. A client with dpop_bound_access_tokens must send one.
 */
export async function tokenRequestBinding(services: Services, client: Client, context: RequestContext, url: string): Promise<Binding> {
	if (context.dpop === null) {
		if (client.dpopBoundAccessTokens) return { ok: false, error: invalidDpopProof(`The client ${client.id} must send a DPoP proof with every token request.`) };
		return { ok: true, jkt: null };
	}
	const proof = await verifyDpopProof(services, context.dpop, { method: context.method, url }, context.now);
	return proof.ok ? { ok: true, jkt: proof.jkt } : { ok: false, error: invalidDpopProof(proof.reason) };
}

/**
 * The key a device code is bound to from its first request (draft-parecki-oauth-dpop-device-flow):
 * its proof's, or the `dpop_jkt` parameter's; both, they must agree.
 */
export async function deviceAuthorizationBinding(
	services: Services,
	client: Client,
	dpopJkt: string | undefined,
	context: RequestContext,
	url: string
): Promise<Binding> {
	if (dpopJkt !== undefined && !JKT.test(dpopJkt)) {
		return { ok: false, error: invalidRequest("dpop_jkt must be the base64url SHA-256 JWK thumbprint (RFC 7638) of the client's DPoP key.") };
	}
	if (context.dpop === null && dpopJkt !== undefined) return { ok: true, jkt: dpopJkt };
	const binding = await tokenRequestBinding(services, client, context, url);
	if (binding.ok && dpopJkt !== undefined && binding.jkt !== dpopJkt) {
		return { ok: false, error: invalidDpopProof('The DPoP proof was signed by another key than the one dpop_jkt names.') };
	}
	return binding;
}

/** Whose key a bound token presented at a resource proves (RFC 9449 §7). */
export type ResourceProof = { ok: true } | { ok: false; error: OAuthError };

/**
 * RFC 9449 §7.1: a DPoP-bound access token needs the DPoP scheme and a proof by its key with its
 * `ath`; one that is not bound is not a DPoP token. Refusals are 401 with a DPoP challenge.
 */
export async function proveTokenPossession(
	services: Services,
	boundTo: string | null,
	presented: { scheme: 'Bearer' | 'DPoP'; token: string },
	context: RequestContext,
	url: string
): Promise<ResourceProof> {
	const challenge = (error: 'invalid_dpop_proof' | 'invalid_token', description: string) => ({
		ok: false as const,
		error: dpopChallenge(error, description, DPOP_SIGNING_ALGS)
	});
	if (presented.scheme === 'Bearer') {
		return boundTo === null
			? { ok: true }
			: challenge('invalid_token', 'This access token is bound to a DPoP key: send it as "Authorization: DPoP <token>" with a DPoP proof.');
	}
	if (boundTo === null) return challenge('invalid_token', 'This access token is not bound to a DPoP key: send it as "Authorization: Bearer <token>".');
	if (context.dpop === null) return challenge('invalid_dpop_proof', 'A DPoP access token needs a DPoP proof of its key, with its ath.');
	const proof = await verifyDpopProof(services, context.dpop, { method: context.method, url, accessToken: presented.token }, context.now);
	if (!proof.ok) return challenge('invalid_dpop_proof', proof.reason);
	if (proof.jkt !== boundTo) return challenge('invalid_token', 'The DPoP proof was signed by another key than the one this access token is bound to.');
	return { ok: true };
}
