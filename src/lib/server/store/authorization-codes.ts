/** What the store contract (store.ts) reads and writes of authorization codes (RFC 6749 §4.1, with PKCE), from approval to redemption. */

/** A code as the consent page's Approve makes it: only its hash, and everything the token request must match. */
export interface NewAuthorizationCode {
	codeHash: Buffer;
	clientId: string;
	/** The redirect_uri of the authorization request, exactly as sent: the token request must send it again. */
	redirectUri: string;
	/** RFC 7636: the S256 code_challenge, base64url. */
	codeChallenge: string;
	scope: string;
	/** OpenID Connect's nonce, for the ID token; null when none was sent. */
	nonce: string | null;
	/** The thumbprint of the DPoP key the token request must prove (RFC 9449 §10); null: unbound. */
	dpopJkt: string | null;
	/** The person who signed in and approved: the grant's owner. */
	ownerId: number;
	/** The address of the browser that approved. */
	approverIp: string | null;
	createdAt: number;
	expiresAt: number;
}

/** A stored code with its owner, whether or not it was redeemed or has expired (the grant decides). */
export interface AuthorizationCode extends Omit<NewAuthorizationCode, 'codeHash' | 'ownerId' | 'approverIp'> {
	id: number;
	/** When its token request redeemed it; null while it has not been. */
	consumedAt: number | null;
	/** The grant its redemption made, to revoke when the code comes again. */
	grantId: number | null;
	sub: string;
	name: string | null;
	email: string | null;
}

/** What redeeming a code gave: the new grant, and whose it is. */
export interface CodeRedemption {
	grantId: number;
	ownerSub: string;
}
