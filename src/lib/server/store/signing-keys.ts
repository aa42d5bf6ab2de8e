/** What the store contract (store.ts) reads and writes of signing keys. */

/** What a retired key's private half becomes once no instance may sign with it any more. */
export const ERASED_PRIVATE_KEY = 'erased';

/** A signing key as stored: public and private JWK as JSON (the private one encrypted when a secret is configured). */
export interface StoredSigningKey {
	kid: string;
	alg: string;
	publicJwk: string;
	privateJwk: string;
	createdAt: number;
	/** Signs from here; published from a day before. */
	activatesAt: number;
	/** Signs no more from here. */
	retiresAt: number;
	/** Published until here: every token it signed has expired. */
	expiresAt: number;
}
