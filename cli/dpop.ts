// DPoP (RFC 9449) for the CLI: a key pair of its own (ES256, WebCrypto through jose), made
// anew for every login and kept as a JWK beside that login's tokens, and a proof signed with
// it for every request, so tokens copied off this machine are no use without the key.

import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';

export const DPOP_ALG = 'ES256';

export type DpopKey = {
	privateKey: CryptoKey;
	/** What each proof embeds in its header: the public half only. */
	publicJwk: JWK;
	/** What is stored beside the tokens: the private JWK (it holds the public half too). */
	stored: JWK;
};

/** A new key pair for one login. */
export async function createDpopKey(): Promise<DpopKey> {
	const { privateKey } = await generateKeyPair(DPOP_ALG, { extractable: true });
	return fromStored(await exportJWK(privateKey));
}

/** The key stored beside a login's tokens. */
export async function fromStored(stored: JWK): Promise<DpopKey> {
	if (stored.kty !== 'EC' || stored.crv !== 'P-256' || typeof stored.d !== 'string') {
		throw new Error('the stored DPoP key is not an ES256 private key; log in again');
	}
	const privateKey = (await importJWK(stored, DPOP_ALG)) as CryptoKey;
	const { kty, crv, x, y } = stored;
	return { privateKey, publicJwk: { kty, crv, x, y }, stored };
}

/**
 * RFC 9449 §4.2: a proof for one request, `method` on `url` (without its query or fragment),
 * and with the access token it goes with at a resource (its hash, `ath`).
 */
export async function dpopProof(key: DpopKey, method: string, url: string, accessToken?: string): Promise<string> {
	const target = new URL(url);
	return new SignJWT({
		htm: method,
		htu: `${target.origin}${target.pathname}`,
		jti: randomUUID(),
		...(accessToken !== undefined ? { ath: createHash('sha256').update(accessToken).digest('base64url') } : {})
	})
		.setProtectedHeader({ alg: DPOP_ALG, typ: 'dpop+jwt', jwk: key.publicJwk })
		.setIssuedAt()
		.sign(key.privateKey);
}

/** RFC 9449 §5.1: whether a token response's (or stored) token_type says the access token is bound. */
export function isDpopTokenType(tokenType: string | undefined): boolean {
	return tokenType?.toLowerCase() === 'dpop';
}
