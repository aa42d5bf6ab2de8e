import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** DPoP proofs (RFC 9449) as a client makes them, with jose, and as a careless or hostile one might. */

export interface ProofKey {
	alg: string;
	privateKey: CryptoKey;
	publicJwk: JWK;
	privateJwk: JWK;
	/** The key's SHA-256 JWK thumbprint (RFC 7638). */
	jkt: string;
}

/** A new key pair for proofs: ES256 unless another algorithm is named. */
export async function proofKey(alg = 'ES256'): Promise<ProofKey> {
	const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
	const publicJwk = await exportJWK(publicKey);
	return { alg, privateKey, publicJwk, privateJwk: await exportJWK(privateKey), jkt: await calculateJwkThumbprint(publicJwk, 'sha256') };
}

export interface ProofClaims {
	htm: string;
	htu: string;
	/** Seconds since the epoch; now by default. */
	iat?: number;
	jti?: string;
	/** The access token the proof goes with: its `ath`. */
	accessToken?: string;
}

/** A proof signed by `key`; `header` replaces parts of its header (a wrong typ, another embedded key). */
export async function makeProof(key: ProofKey, claims: ProofClaims, header: Record<string, unknown> = {}): Promise<string> {
	const { htm, htu, iat = Math.floor(Date.now() / 1000), jti = randomUUID(), accessToken } = claims;
	return new SignJWT({ htm, htu, jti, ...(accessToken !== undefined ? { ath: createHash('sha256').update(accessToken).digest('base64url') } : {}) })
		.setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.publicJwk, ...header })
		.setIssuedAt(iat)
		.sign(key.privateKey);
}

/** A JWT with `alg: none` and no signature, as an attacker would send one. */
export function unsignedProof(key: ProofKey, claims: ProofClaims): string {
	const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
	const { htm, htu, iat = Math.floor(Date.now() / 1000), jti = randomUUID() } = claims;
	return `${part({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk })}.${part({ htm, htu, iat, jti })}.`;
}

/** A proof signed with a shared secret (HS256), which proves nothing about a client's key. */
export async function symmetricProof(claims: ProofClaims): Promise<string> {
	const secret = new TextEncoder().encode('a shared secret of thirty-two bytes');
	const { htm, htu, jti = randomUUID() } = claims;
	// jose's types keep secrets out of a header; an attacker's proof has no such scruple.
	const secretInHeader: Record<string, unknown> = { jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') } };
	return new SignJWT({ htm, htu, jti })
		.setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', ...secretInHeader })
		.setIssuedAt()
		.sign(secret);
}
