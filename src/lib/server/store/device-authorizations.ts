import type { Limit } from '../core/rate-limit';

/** What the store contract (store.ts) reads and writes of device authorizations (RFC 8628), from a new code to its redemption. */

export type DeviceStatus = 'pending' | 'approved' | 'denied' | 'consumed';

export interface DeviceAuthorization {
	id: number;
	userCode: string;
	clientId: string;
	scope: string;
	status: DeviceStatus;
	createdAt: number;
	expiresAt: number;
	intervalSeconds: number;
	requesterIp: string | null;
	requesterUserAgent: string | null;
	enteredAt: number | null;
	decidedAt: number | null;
	denialReason: string | null;
	ownerId: number | null;
	approvedBy: number | null;
	grantedScope: string | null;
	label: string | null;
	grantId: number | null;
}

export type PollOutcome = 'replayed' | 'slow_down' | 'denied' | 'expired' | 'issue' | 'pending';

/**
 * What a poll needs to answer; the rest of the authorization is read only when tokens are issued.
 * 'wrong_dpop_key': the code is bound to a DPoP key (RFC 9449) that did not sign this poll's
 * proof, so it was not polled at all (its clock and status are as they were).
 */
export interface PolledAuthorization {
	id: number;
	lastPollOutcome: PollOutcome | 'wrong_dpop_key';
	lastPolledAt: number | null;
	intervalSeconds: number;
	enteredAt: number | null;
	denialReason: string | null;
	grantId: number | null;
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

/** What redeeming an approval gave: the new grant, and whose it is. */
export interface Redemption {
	grantId: number;
	scope: string;
	ownerSub: string;
	approverSub: string | null;
}

/** An approved code whose CLI has not collected its tokens yet. */
export interface UncollectedApproval {
	id: number;
	userCode: string;
	clientId: string;
	clientName: string | null;
	grantedScope: string | null;
	label: string | null;
	decidedAt: number;
	requesterIp: string | null;
	ownerSub: string;
	ownerName: string | null;
}

/** An approval revoked before its CLI collected the tokens. */
export interface RevokedApproval {
	userCode: string;
	clientId: string;
}

/** Whether and from where an owner's approved code was collected. */
export interface Pickup {
	status: DeviceStatus;
	requesterIp: string | null;
	clientId: string;
	pickedUpAt: number | null;
	pickupIp: string | null;
}
