/** What the store contract (store.ts) reads and writes of grants and their tokens. */

export interface NewGrant {
	kind: 'device' | 'personal';
	ownerId: number;
	clientId: string;
	scope: string;
	label: string | null;
	approvedBy: number | null;
	createdAt: number;
	requesterIp: string | null;
	pickupIp: string | null;
	expiresAt: number | null;
}

/**
 * The hashes and lifetimes of a new access and refresh token; the tokens themselves never
 * reach the store. No refresh token (null) for a client whose grant_types lack refresh_token.
 */
export interface NewTokenPair {
	accessTokenHash: Buffer;
	accessExpiresAt: number;
	/** The DPoP key's thumbprint the access token is bound to; null: a bearer token. */
	accessDpopJkt: string | null;
	refreshTokenHash: Buffer | null;
	refreshExpiresAt: number;
	/** The DPoP key's thumbprint the refresh token is bound to (public clients' only, RFC 9449 §5); null: unbound. */
	refreshDpopJkt: string | null;
}

/** RFC 9700 §4.14.2: a refresh token works once; presented again, it revokes its grant. */
export type RefreshRotation =
	{ outcome: 'rotated'; grantId: number; scope: string } | { outcome: 'reused'; grantId: number; sub: string } | { outcome: 'refused' };

/** Any token, live or not, with its grant and owner. */
export interface TokenState {
	grantId: number;
	kind: 'access' | 'refresh';
	/** The thumbprint of the DPoP key the token is bound to (RFC 9449); null: a bearer token. */
	dpopJkt: string | null;
	createdAt: number;
	expiresAt: number;
	retiredAt: number | null;
	clientId: string;
	scope: string;
	revokedAt: number | null;
	sub: string;
	/** The owner's provider, email and groups as of their last sign-in: the client's `allow` is checked against them at refresh. */
	provider: string;
	name: string | null;
	email: string | null;
	groups: string[];
	/** When the owner signed in and approved (an ID token's auth_time). */
	authTime: number | null;
	/** The admin who approved on the owner's behalf, if one did. */
	approvedBySub: string | null;
}

/** A live, unrevoked access token with its owner. */
export interface ActiveAccessToken {
	grantId: number;
	/** The thumbprint of the DPoP key the token is bound to (RFC 9449); null: a bearer token. */
	dpopJkt: string | null;
	expiresAt: number;
	scope: string;
	clientId: string;
	sub: string;
	provider: string;
	name: string | null;
	email: string | null;
	approvedBySub: string | null;
}

export interface Grant {
	id: number;
	kind: 'device' | 'personal';
	clientId: string;
	clientName: string | null;
	scope: string;
	label: string | null;
	createdAt: number;
	expiresAt: number | null;
	requesterIp: string | null;
	pickupIp: string | null;
	lastUsedAt: number | null;
	lastUsedIp: string | null;
	approvedBySub: string | null;
}

/** A grant and its owner, as admins see everyone's. */
export interface GrantWithOwner extends Grant {
	ownerSub: string;
	ownerName: string | null;
}

/** A grant an admin revoked, and whose it was. */
export interface RevokedGrant {
	id: number;
	clientId: string;
	ownerId: number;
}
