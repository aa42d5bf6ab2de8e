import type { Client, ClientManager } from '../core/clients';
import type { Limiter } from '../core/rate-limit';
import type { AuditEntry, AuditRecord } from './audit';
import type { AuthorizationCode, CodeRedemption, NewAuthorizationCode } from './authorization-codes';
import type { ClientChange, ClientDeclaration, ClientRegistration, StoredClient } from './clients';
import type {
	Approval,
	Denial,
	DeviceAuthorization,
	DeviceAuthorizationInsert,
	Issuance,
	LimitCharge,
	NewDeviceAuthorization,
	Pickup,
	PolledAuthorization,
	Redemption,
	RevokedApproval,
	UncollectedApproval
} from './device-authorizations';
import type { ActiveAccessToken, Grant, GrantWithOwner, NewGrant, NewTokenPair, RefreshRotation, RevokedGrant, TokenState } from './grants';
import type { NewUser, Session, User } from './people';
import type { StoredSigningKey } from './signing-keys';

/**
 * The store contract: the only door to the database. Every method is async and named
 * for what it does; each engine (sqlite/: one process, one file; postgres/: any number of
 * instances) owns all of its SQL and makes every method atomic by itself, so no domain
 * code ever runs between BEGIN and COMMIT. What it reads comes back as the domain objects of
 * people.ts, clients.ts, device-authorizations.ts, authorization-codes.ts, grants.ts, signing-keys.ts and audit.ts, camelCase, each
 * engine mapping its columns to them; constraint errors come back as typed results, never as an
 * engine's exception.
 */

export * from './audit';
export * from './authorization-codes';
export * from './clients';
export * from './device-authorizations';
export * from './grants';
export * from './people';
export * from './signing-keys';

export interface Store {
	/** Closes the connections; the store is not used again. */
	close(): Promise<void>;
	/** The database's clock, in milliseconds since the epoch (clock.ts follows it). */
	databaseTime(): Promise<number>;
	/** Whether every migration this build knows has been applied (readiness). */
	schemaIsCurrent(): Promise<boolean>;

	// People and browser sessions.
	/** A person as they signed in: made the first time, their newest name, email and groups kept (a missing one keeps the old). */
	upsertUser(user: NewUser, now: number): Promise<User>;
	/** The person with this `sub`, if they ever signed in (or an admin named them). */
	findUserBySub(sub: string): Promise<User | undefined>;
	/** A new browser session, by the hash of its token. */
	insertSession(tokenHash: Buffer, userId: number, now: number, expiresAt: number): Promise<void>;
	/** The session behind a token's hash, with its person, expired or not (sessions.ts decides). */
	findSession(tokenHash: Buffer): Promise<Session | undefined>;
	/** Moves a session's expiry (sliding expiry). */
	extendSession(tokenHash: Buffer, expiresAt: number): Promise<void>;
	/** Ends a session (sign-out). */
	deleteSession(tokenHash: Buffer): Promise<void>;

	// Clients. Every change moves clientsVersion, in the same transaction; only declareClients
	// changes the clients CLIENTS_FILE manages, and it changes no other.
	/** Every client whose id or name holds `search` (any case; '' for all), disabled ones too, by id. */
	listClients(search: string): Promise<StoredClient[]>;
	/** The client with this id, disabled or not. */
	findClient(id: string): Promise<StoredClient | undefined>;
	/** A number that moves with every change to any client: instances read it to know when to reload theirs. */
	clientsVersion(): Promise<number>;
	/**
	 * CLIENTS_FILE at start-up, all at once: its clients created, or updated where they differ, and
	 * enabled; the file's clients it no longer names disabled; ids an admin or registration manages
	 * left alone. The same declaration again changes nothing; instances declaring at once take turns.
	 */
	declareClients(clients: Client[], at: number): Promise<ClientDeclaration>;
	/** A new client, unless its id is taken; one registration made keeps its `registration`. */
	createClient(
		client: Client,
		managedBy: Exclude<ClientManager, 'file'>,
		change: ClientChange,
		registration?: ClientRegistration
	): Promise<StoredClient | 'id_taken'>;
	/** Replaces a client's name, type, secret and policy (and its registration, when given); not a client the file manages. */
	updateClient(client: Client, change: ClientChange, registration?: ClientRegistration): Promise<StoredClient | undefined>;
	/** Disables a client the file does not manage, keeping when it was first disabled. */
	disableClient(id: string, change: ClientChange): Promise<StoredClient | undefined>;
	/** Enables a client the file does not manage. */
	enableClient(id: string, change: ClientChange): Promise<StoredClient | undefined>;
	/** A confidential client's new secret (its hash), replacing the old one at once; not a client the file manages. */
	setClientSecret(id: string, secretSha256: string, change: ClientChange): Promise<StoredClient | undefined>;
	/** How many grants of a client are live (not revoked): what deleting it would revoke. */
	countLiveGrants(clientId: string): Promise<number>;
	/** Deletes a client the file does not manage and revokes its live grants, all at once; says how many grants. */
	deleteClient(id: string, at: number): Promise<{ revokedGrants: number } | undefined>;

	// Device authorizations (RFC 8628). Each transition is one atomic statement.
	/**
	 * A new code, counted against `limits` and refused past one of them, or while its
	 * requester's address is blocked ("I didn't start this"); 'user_code_taken' when a code
	 * already has this user code: draw another. One round trip, limits and block check
	 * included: every new code asks.
	 */
	insertDeviceAuthorization(row: NewDeviceAuthorization, limits: LimitCharge[]): Promise<DeviceAuthorizationInsert>;
	/** The pending, unexpired code with this user code. */
	findLiveDeviceAuthorization(userCode: string, now: number): Promise<DeviceAuthorization | undefined>;
	/** Marks a live code entered and keeps the entry's handle (its hash) for the browser that entered it. */
	recordCodeEntry(userCode: string, handleHash: Buffer, now: number): Promise<DeviceAuthorization | undefined>;
	/** The user code an entry's handle names, whatever its status now. */
	findEnteredUserCode(handleHash: Buffer): Promise<string | undefined>;
	/** The first signed-in person to open a pending code claims it; their later opens find it again, anyone else's nothing. */
	claimDeviceAuthorization(userCode: string, userId: number, now: number): Promise<DeviceAuthorization | undefined>;
	/** pending → approved, unless another person claimed it (a null claimant, an admin, may always). */
	approveDeviceAuthorization(approval: Approval): Promise<DeviceAuthorization | undefined>;
	/** pending → denied with a reason, under the same claim rule as approval. */
	denyDeviceAuthorization(denial: Denial): Promise<DeviceAuthorization | undefined>;
	/**
	 * One poll, decided by the rule in poll-rule.ts: one read (SQLite, its clock in memory) or one statement (PostgreSQL).
	 * A code bound to a DPoP key other than `dpopJkt` (the poll's proof's, or null) is not polled: 'wrong_dpop_key'.
	 */
	pollDeviceAuthorization(deviceCodeHash: Buffer, clientId: string, dpopJkt: string | null, now: number): Promise<PolledAuthorization | undefined>;
	/**
	 * approved → consumed, a grant for it and its first tokens, all at once: of any number
	 * of concurrent polls exactly one gets a redemption; the others undefined.
	 */
	redeemApprovedAuthorization(authorizationId: number, tokens: NewTokenPair, pickupIp: string | null, now: number): Promise<Redemption | undefined>;
	/** Who an approved code's tokens are for, while it is still approved. */
	findApprovedIssuance(authorizationId: number): Promise<Issuance | undefined>;
	/** Live pending codes, newest first, at most `limit` (admins). */
	listPendingAuthorizations(now: number, limit: number): Promise<DeviceAuthorization[]>;
	/** Approved codes whose CLI has not collected its tokens, an owner's, or every owner's when ownerId is null (admins). */
	listUncollectedApprovals(ownerId: number | null, now: number): Promise<UncollectedApproval[]>;
	/** approved → denied ('revoked') before the CLI collected its tokens. */
	revokeUncollectedApproval(id: number, ownerId: number | null, now: number): Promise<RevokedApproval | undefined>;
	/** Whether and from where an owner's approved code was collected (the success page's receipt). */
	findPickup(userCode: string, ownerId: number): Promise<Pickup | undefined>;
	/** The live grant an approval became once its CLI collected the tokens (any owner's when ownerId is null). */
	findCollectedGrant(approvalId: number, ownerId: number | null): Promise<number | undefined>;

	// Authorization codes (RFC 6749 §4.1 with PKCE): single use, redeemed in one transaction.
	/** A code the person approved at /oauth/authorize, by its hash. */
	insertAuthorizationCode(code: NewAuthorizationCode): Promise<void>;
	/** The code with this hash and its owner, redeemed or expired or not (a replayed code names the grant it gave). */
	findAuthorizationCode(codeHash: Buffer): Promise<AuthorizationCode | undefined>;
	/**
	 * Marks a live, unredeemed code redeemed and makes its grant and first tokens, all at once:
	 * of any number of concurrent token requests exactly one gets a redemption; the others undefined.
	 */
	redeemAuthorizationCode(codeId: number, tokens: NewTokenPair, pickupIp: string | null, now: number): Promise<CodeRedemption | undefined>;

	// Addresses (addressKey: an IPv6 /64) refused new codes after "I didn't start this".
	/** Refuses new codes from a network until `until` (the later of two blocks wins). */
	blockAddress(network: string, until: number, reason: string): Promise<void>;

	// Grants and tokens.
	/** A personal access token: its grant and its one token, all at once. */
	createPersonalGrant(grant: NewGrant, tokenHash: Buffer): Promise<number>;
	/** RFC 9700 §4.14.2: retires a live refresh token and adds the next pair, or revokes the grant of a used one. */
	rotateRefreshToken(refreshTokenHash: Buffer, clientId: string, next: NewTokenPair, now: number): Promise<RefreshRotation>;
	/** Any access or refresh token by its hash, live or not, with its grant and owner (introspection, revocation, refresh). */
	findTokenState(tokenHash: Buffer): Promise<TokenState | undefined>;
	/** A live, unrevoked access token by its hash, with its owner (userinfo). */
	findActiveAccessToken(tokenHash: Buffer, now: number): Promise<ActiveAccessToken | undefined>;
	/** Ends one access token (RFC 7009), keeping when it first ended. */
	retireAccessToken(tokenHash: Buffer, now: number): Promise<void>;
	/** Records when and from where a grant was last used. */
	touchGrant(grantId: number, now: number, ip: string | null): Promise<void>;
	/** Ends a grant and all its tokens, keeping when it first ended. */
	revokeGrant(grantId: number, now: number): Promise<void>;
	/** Ends a grant only if `ownerId` owns it and it is live; says whether it did. */
	revokeOwnGrant(grantId: number, ownerId: number, now: number): Promise<boolean>;
	/** Ends any live grant (admins); says whose it was. */
	revokeAnyGrant(grantId: number, now: number): Promise<RevokedGrant | undefined>;
	/** An owner's live grants of one kind, newest first (/account). */
	listActiveGrants(ownerId: number, kind: 'device' | 'personal', now: number): Promise<Grant[]>;
	/** Everyone's live grants, newest first, filtered by owner sub, name, email or label (admins). */
	listAllActiveGrants(now: number, filter: string, limit: number): Promise<GrantWithOwner[]>;

	// DPoP proofs (RFC 9449), remembered on every instance while their iat is accepted.
	/**
	 * RFC 9449 §11.1: remembers a DPoP proof (the hash of its key's thumbprint and its jti) until
	 * `expiresAt`; true the first time, false for a proof already seen and not yet expired.
	 */
	recordDpopProof(proofHash: Buffer, expiresAt: number, now: number): Promise<boolean>;

	// Signing keys (signing-keys.ts decides when to make one).
	/** The keys still published at `now`. */
	listSigningKeys(now: number): Promise<StoredSigningKey[]>;
	/** Adds the key unless one already signs at or after its activatesAt (instances racing add one). */
	addSigningKey(key: StoredSigningKey): Promise<boolean>;
	/** Replaces a private key stored as `stored` with its sealed form (instances racing: the first wins). */
	sealSigningKey(kid: string, stored: string, sealed: string): Promise<void>;
	/** Erases the private halves of keys retired before `retiredBefore`; says how many. */
	eraseRetiredPrivateKeys(retiredBefore: number): Promise<number>;
	/** Deletes keys no longer published (every token they signed has expired); says how many. */
	deleteExpiredSigningKeys(now: number): Promise<number>;

	// The audit log.
	/** Appends an entry to the audit log. */
	insertAudit(entry: AuditEntry, at: number): Promise<void>;
	/** The audit log, newest first, a page at a time. */
	listAudit(limit: number, offset: number): Promise<AuditRecord[]>;

	// Sweeping: each deletes at most `limit` expired rows and says how many it deleted.
	/** Codes past their expiry, whatever their status, oldest first. */
	deleteExpiredDeviceAuthorizations(now: number, limit: number): Promise<number>;
	/** Access and refresh tokens past their expiry. */
	deleteExpiredTokens(now: number, limit: number): Promise<number>;
	/** Browser sessions past their expiry. */
	deleteExpiredSessions(now: number, limit: number): Promise<number>;
	/** Address blocks that have ended. */
	deleteExpiredBlocks(now: number, limit: number): Promise<number>;
	/** Authorization codes past their expiry, redeemed or not. */
	deleteExpiredAuthorizationCodes(now: number, limit: number): Promise<number>;
	/** DPoP proofs whose iat is no longer accepted, so their jti need not be remembered. */
	deleteExpiredDpopProofs(now: number, limit: number): Promise<number>;
}

/** What an engine provides: its store, and where its rate limits are kept. */
export interface Database {
	store: Store;
	limiter: Limiter;
}

/**
 * The database cannot be reached (down, restarting, unreachable network). Every engine
 * throws this, never its driver's own error, so the JSON API can answer 503
 * temporarily_unavailable and pages a 503 that says to try again; service resumes by
 * itself when the database is back.
 */
export class DatabaseUnavailable extends Error {
	readonly name = 'DatabaseUnavailable';
	constructor() {
		super('The database cannot be reached right now.');
	}
}
