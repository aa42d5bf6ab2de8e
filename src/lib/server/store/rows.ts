import type { Limit } from '../core/rate-limit';

/**
 * What the store contract (store.ts) reads and writes: rows as they come back from either
 * engine, and the inputs of its writes.
 */

export interface UserRow {
	id: number;
	sub: string;
	provider: string;
	name: string | null;
	email: string | null;
	/** What the provider said at the last sign-in: organizations, teams, directory groups. */
	groups: string[];
}

/** A person as a provider describes them at sign-in; null name, email or groups keep what is stored. */
export interface NewUser {
	sub: string;
	provider: string;
	name: string | null;
	email: string | null;
	groups?: string[] | null;
}

export interface SessionRow {
	user_id: number;
	expires_at: number;
	sub: string;
	provider: string;
	name: string | null;
	email: string | null;
	groups: string[];
}

export type DeviceStatus = 'pending' | 'approved' | 'denied' | 'consumed';

export interface DeviceAuthorizationRow {
	id: number;
	user_code: string;
	client_id: string;
	scope: string;
	status: DeviceStatus;
	created_at: number;
	expires_at: number;
	interval_seconds: number;
	requester_ip: string | null;
	requester_user_agent: string | null;
	entered_at: number | null;
	decided_at: number | null;
	denial_reason: string | null;
	owner_id: number | null;
	approved_by: number | null;
	granted_scope: string | null;
	label: string | null;
	grant_id: number | null;
}

export type PollOutcome = 'replayed' | 'slow_down' | 'denied' | 'expired' | 'issue' | 'pending';

/**
 * What a poll needs to answer; the rest of the row is read only when tokens are issued.
 * 'wrong_dpop_key': the code is bound to a DPoP key (RFC 9449) that did not sign this poll's
 * proof, so it was not polled at all (its clock and status are as they were).
 */
export interface PolledAuthorizationRow {
	id: number;
	last_poll_outcome: PollOutcome | 'wrong_dpop_key';
	last_polled_at: number | null;
	interval_seconds: number;
	entered_at: number | null;
	denial_reason: string | null;
	grant_id: number | null;
}

export interface NewDeviceAuthorization {
	deviceCodeHash: Buffer;
	userCode: string;
	clientId: string;
	scope: string;
	createdAt: number;
	expiresAt: number;
	intervalSeconds: number;
	requesterIp: string | null;
	/** The requester's address as address blocks name it (rate-limit.ts addressKey: an IPv6 /64). */
	requesterNetwork: string | null;
	requesterUserAgent: string | null;
	/** The thumbprint of the DPoP key its polls must prove (RFC 9449), from its first request; null: unbound. */
	dpopJkt: string | null;
}

/** A limit a new code counts against, counted in the same statement as the insert (the rules of core/rate-limit.ts). */
export interface LimitCharge {
	key: string;
	limit: Limit;
}

/**
 * What inserting a new code did: inserted; 'user_code_taken' (draw another); refused while its
 * requester's address is blocked; or refused by the `refusedBy`-th limit, with when to retry.
 */
export type DeviceAuthorizationInsert = 'inserted' | 'user_code_taken' | { blockedUntil: number } | { refusedBy: number; retryAfter: number; first: boolean };

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

export interface TokenStateRow {
	grant_id: number;
	kind: 'access' | 'refresh';
	/** The thumbprint of the DPoP key the token is bound to (RFC 9449); null: a bearer token. */
	dpop_jkt: string | null;
	created_at: number;
	expires_at: number;
	retired_at: number | null;
	client_id: string;
	scope: string;
	revoked_at: number | null;
	sub: string;
	name: string | null;
	email: string | null;
	/** When the owner signed in and approved (an ID token's auth_time). */
	auth_time: number | null;
	/** The admin who approved on the owner's behalf, if one did. */
	approved_by_sub: string | null;
}

export interface GrantRow {
	id: number;
	kind: 'device' | 'personal';
	client_id: string;
	client_name: string | null;
	scope: string;
	label: string | null;
	created_at: number;
	expires_at: number | null;
	requester_ip: string | null;
	pickup_ip: string | null;
	last_used_at: number | null;
	last_used_ip: string | null;
	approved_by_sub: string | null;
}

export interface PickupRow {
	status: DeviceStatus;
	requester_ip: string | null;
	client_id: string;
	picked_up_at: number | null;
	pickup_ip: string | null;
}

export interface AccessTokenRow {
	grant_id: number;
	/** The thumbprint of the DPoP key the token is bound to (RFC 9449); null: a bearer token. */
	dpop_jkt: string | null;
	expires_at: number;
	scope: string;
	client_id: string;
	sub: string;
	provider: string;
	name: string | null;
	email: string | null;
	approved_by_sub: string | null;
}

export interface AuditEntry {
	actor: string | null;
	action: string;
	userCode?: string | null;
	clientId?: string | null;
	subject?: string | null;
	ip?: string | null;
	detail?: string | null;
}

export interface AuditRow {
	id: number;
	at: number;
	actor: string | null;
	action: string;
	user_code: string | null;
	client_id: string | null;
	subject: string | null;
	ip: string | null;
	detail: string | null;
}

/** An approved code whose CLI has not collected its tokens yet. */
export interface UncollectedApprovalRow {
	id: number;
	user_code: string;
	client_id: string;
	client_name: string | null;
	granted_scope: string | null;
	label: string | null;
	decided_at: number;
	requester_ip: string | null;
	owner_sub: string;
	owner_name: string | null;
}

export interface AdminGrantRow extends GrantRow {
	owner_sub: string;
	owner_name: string | null;
}

/** What a retired key's private half becomes once no instance may sign with it any more. */
export const ERASED_PRIVATE_KEY = 'erased';

/** A signing key as stored: public and private JWK as JSON (the private one encrypted when a secret is configured). */
export interface SigningKeyRow {
	kid: string;
	alg: string;
	public_jwk: string;
	private_jwk: string;
	created_at: number;
	/** Signs from here; published from a day before. */
	activates_at: number;
	/** Signs no more from here. */
	retires_at: number;
	/** Published until here: every token it signed has expired. */
	expires_at: number;
}

/** Whose an approved code's tokens will be, known before they are made (an ID token or a JWT names them). */
export interface Issuance {
	sub: string;
	name: string | null;
	email: string | null;
	scope: string;
	authTime: number;
	/** The admin who approved on the owner's behalf, if one did. */
	actor: string | null;
}

/** The hashes and lifetimes of a new access and refresh token; the tokens themselves never reach the store. */
export interface NewTokenPair {
	accessTokenHash: Buffer;
	accessExpiresAt: number;
	/** The DPoP key's thumbprint the access token is bound to; null: a bearer token. */
	accessDpopJkt: string | null;
	refreshTokenHash: Buffer;
	refreshExpiresAt: number;
	/** The DPoP key's thumbprint the refresh token is bound to (public clients' only, RFC 9449 §5); null: unbound. */
	refreshDpopJkt: string | null;
}

/** What redeeming an approval gave: the new grant, and whose it is. */
export interface Redemption {
	grantId: number;
	scope: string;
	ownerSub: string;
	approverSub: string | null;
}

/** RFC 9700 §4.14.2: a refresh token works once; presented again, it revokes its grant. */
export type RefreshRotation =
	{ outcome: 'rotated'; grantId: number; scope: string } | { outcome: 'reused'; grantId: number; sub: string } | { outcome: 'refused' };

export interface Approval {
	userCode: string;
	ownerId: number;
	/** Set when an admin approves on someone else's behalf. */
	approvedBy: number | null;
	grantedScope: string;
	label: string | null;
	/** Only this user's claim may be overridden; null: any (admins). */
	claimant: number | null;
	now: number;
}

export interface Denial {
	userCode: string;
	reason: string;
	deniedBy: number | null;
	/** Only a code unclaimed or claimed by this user is denied; null: any (admins). */
	claimant: number | null;
	now: number;
}
