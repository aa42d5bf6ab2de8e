import { approverOf, checkApprover, type Person, type RuleVerdict } from '../core/approval-rule';
import { recordAudit, recordRateLimit } from '../core/audit';
import { DEVICE_CODE_GRANT_TYPE, mayUseGrant, resolveRequestedScopes, type Client } from '../core/clients';
import { generateSecret, hashSecret } from '../core/crypto';
import { providerName } from '../core/config';
import { countDeviceFlow, countRateLimitRefusal } from '../core/metrics';
import { invalidScope, ok, serverError, tooManyRequests, unauthorizedClient, type OAuthResult } from './errors';
import { limitRefusal, type ApiLimit } from './limits';
import { addressKey } from '../core/rate-limit';
import type { RequestContext, Services } from '../core/services';
import type { DeviceAuthorization } from '../store/store';
import { formatUserCode, generateUserCode, normalizeUserCode } from './user-code';
import { msFromSeconds, secondsUntil } from '../core/time';

/** Why a device authorization was denied; the CLI is told in plain words. */
export type DenialReason = 'user' | 'admin' | 'provider_denied' | 'provider_failed' | 'reported' | 'revoked';

export const DENIAL_DESCRIPTIONS: Record<DenialReason, string> = {
	user: 'The request was denied in the browser.',
	admin: 'An administrator denied the request.',
	provider_denied: 'The sign-in was cancelled or refused at the identity provider.',
	provider_failed: 'The sign-in at the identity provider failed.',
	reported: 'The person at the browser reported that they did not start this login.',
	revoked: 'The approval was revoked before the device collected its tokens.'
};

/**
 * RFC 8628 §3.1–3.2: a new device code and user code for an authenticated client, counted
 * against `limits` by the insert itself (one round trip on either engine). The code lives
 * and is polled as the client's device_code_ttl and poll_interval say, else as the server's;
 * bound, with a DPoP key's thumbprint, to that key for every poll.
 */
export async function createDeviceAuthorization(
	services: Services,
	client: Client,
	scopeParam: string | undefined,
	dpopJkt: string | null,
	context: RequestContext,
	limits: ApiLimit[] = []
): Promise<OAuthResult> {
	const { config, store } = services;
	if (!mayUseGrant(client, DEVICE_CODE_GRANT_TYPE)) return unauthorizedClient('This client may not use the device flow: its grant_types do not include it.');
	const scopes = resolveRequestedScopes(client, scopeParam);
	if ('unknown' in scopes) {
		return invalidScope(`This client may not ask for: ${scopes.unknown.join(' ')}.`);
	}
	const lifetimeSeconds = client.deviceCodeTtlSeconds ?? config.deviceCodeTtlSeconds;
	const intervalSeconds = client.pollIntervalSeconds ?? config.pollIntervalSeconds;
	const deviceCode = generateSecret();
	const deviceCodeHash = hashSecret(deviceCode);
	// A collision with a live user code is rare (20^8 codes); a few fresh draws settle it.
	for (let attempt = 0; attempt < 5; attempt++) {
		const userCode = generateUserCode();
		const inserted = await store.insertDeviceAuthorization(
			{
				deviceCodeHash,
				userCode,
				clientId: client.id,
				scope: scopes.join(' '),
				createdAt: context.now,
				expiresAt: context.now + msFromSeconds(lifetimeSeconds),
				intervalSeconds,
				requesterIp: context.ip,
				requesterNetwork: context.ip && addressKey(context.ip),
				requesterUserAgent: context.userAgent?.slice(0, 300) ?? null,
				dpopJkt
			},
			limits
		);
		if (inserted === 'user_code_taken') continue;
		if (typeof inserted === 'object' && 'refusedBy' in inserted) {
			return limitRefusal(services, limits[inserted.refusedBy], { ok: false, retryAfter: inserted.retryAfter, first: inserted.first }, context);
		}
		if (inserted !== 'inserted') {
			return tooManyRequests(
				secondsUntil(inserted.blockedUntil, context.now),
				'New codes from this address are refused for a while: a code it asked for was reported as not started by its owner.'
			);
		}
		countDeviceFlow('issued');
		return ok({
			device_code: deviceCode,
			user_code: formatUserCode(userCode),
			verification_uri: `${config.origin}/device`,
			verification_uri_complete: `${config.origin}/device?user_code=${formatUserCode(userCode)}`,
			expires_in: lifetimeSeconds,
			interval: intervalSeconds
		});
	}
	return serverError();
}

export type CodeLookupRefusal = { ok: false; reason: 'invalid' } | { ok: false; reason: 'limited'; retryAfter: number };

/** A code that passed the limits, and the handle the browser's device-login cookie keeps for it. */
export type CodeEntry = { ok: true; authorization: DeviceAuthorization; handle: string } | CodeLookupRefusal;

/** Who names a code: wrong codes are counted per address and per browser, and audited. */
export interface CodeEntrySource {
	ip: string | null;
	browser: string;
	/** The signed-in person, when there is one, for the audit log. */
	actor: string | null;
}

/**
 * A person typed a code. Unknown, expired and used codes all answer the same
 * `invalid`, so the page is no oracle for guessing (RFC 8628 §5.1); wrong codes
 * from one address or one browser earn a growing wait, whatever code they aim at.
 * The code itself never goes into a cookie: a random handle does, bound to this entry.
 */
export async function enterUserCode(services: Services, input: string, source: CodeEntrySource, now: number): Promise<CodeEntry> {
	const waiting = await waitingOutGuesses(services, source, now);
	if (waiting) return waiting;
	const userCode = normalizeUserCode(input);
	const handle = generateSecret();
	const authorization = userCode ? await services.store.recordCodeEntry(userCode, hashSecret(handle), now) : undefined;
	if (!authorization) return refuseCodeLookup(services, source, userCode, 'no pending code was found for the code entered', now);
	countDeviceFlow('entered');
	return { ok: true, authorization, handle };
}

export type DeviceLogin = { ok: true; userCode: string } | CodeLookupRefusal;

/**
 * The code behind a device-login cookie's handle. A handle that names no entry was
 * forged (or outlived its code): it is refused, audited and counted like a wrong code,
 * so a cookie is no way around the guessing limits.
 */
export async function resolveDeviceLogin(services: Services, handle: string, source: CodeEntrySource, now: number): Promise<DeviceLogin> {
	const waiting = await waitingOutGuesses(services, source, now);
	if (waiting) return waiting;
	const userCode = await services.store.findEnteredUserCode(hashSecret(handle));
	if (userCode) return { ok: true, userCode };
	return refuseCodeLookup(services, source, null, 'a device-login cookie named no entered code', now);
}

function guessingKeys(source: CodeEntrySource): string[] {
	return [`code-ip:${addressKey(source.ip)}`, `code-browser:${source.browser}`];
}

async function waitingOutGuesses({ limiter }: Services, source: CodeEntrySource, now: number): Promise<CodeLookupRefusal | null> {
	for (const key of guessingKeys(source)) {
		const verdict = await limiter.blocked(key, now);
		if (!verdict.ok) {
			countRateLimitRefusal(key.slice(0, key.indexOf(':')));
			return { ok: false, reason: 'limited', retryAfter: verdict.retryAfter };
		}
	}
	return null;
}

async function refuseCodeLookup(services: Services, source: CodeEntrySource, userCode: string | null, detail: string, now: number): Promise<CodeLookupRefusal> {
	await recordAudit(services, { actor: source.actor, action: 'device.code_refused', userCode, ip: source.ip, detail }, now);
	let retryAfter = 0;
	for (const key of guessingKeys(source)) {
		const verdict = await services.limiter.fail(key, services.config.limits.codeEntry, now);
		if (!verdict.ok) {
			countRateLimitRefusal(key.slice(0, key.indexOf(':')));
			retryAfter = Math.max(retryAfter, verdict.retryAfter);
			await recordRateLimit(services, verdict, 'wrong codes entered', source.ip, now);
		}
	}
	return retryAfter ? { ok: false, reason: 'limited', retryAfter } : { ok: false, reason: 'invalid' };
}

export type Decision = { ok: true; authorization: DeviceAuthorization } | { ok: false };

/**
 * Whether the approving browser is on the network that asked for the code: the same address,
 * an IPv6 /64 counting as one (as the limits count it). Unknown on either side: not known to be.
 */
export function onRequestersNetwork(requesterIp: string | null, browserIp: string | null): boolean {
	return requesterIp !== null && browserIp !== null && addressKey(requesterIp) === addressKey(browserIp);
}

/**
 * A client with `address_mismatch: "refuse"` lets its codes be approved only from the network
 * that asked for them (the cross-device security draft's proximity check, enforced): from
 * anywhere else a code can only be denied.
 */
export function addressRefusesApproval(client: Client | undefined, requesterIp: string | null, browserIp: string | null): boolean {
	return client?.addressMismatch === 'refuse' && !onRequestersNetwork(requesterIp, browserIp);
}

const AUDIT_ACTIONS: Record<DenialReason, string> = {
	user: 'device.denied',
	admin: 'device.denied_by_admin',
	provider_denied: 'device.provider_refused',
	provider_failed: 'device.provider_refused',
	reported: 'device.reported',
	revoked: 'device.approval_revoked'
};

/**
 * "I didn't start this": deny the code, mark it reported in the audit log, and refuse
 * new codes from the address that asked for it (its /64 for IPv6) for REPORT_BLOCK_SECONDS.
 */
export async function reportDeviceAuthorization(services: Services, actor: Actor, userCode: string, now: number) {
	const decision = await denyDeviceAuthorization(services, actor, userCode, 'reported', now);
	if (!decision.ok) return decision;
	const ip = decision.authorization.requesterIp;
	const until = now + msFromSeconds(services.config.reportBlockSeconds);
	if (ip) await services.store.blockAddress(addressKey(ip), until, `reported by ${actor.sub}`);
	return { ok: true as const, requesterIp: ip, blockedUntil: until };
}

/** Who acts in the browser, for the decision and the audit log. */
export interface Actor {
	userId: number;
	sub: string;
	ip: string | null;
}

export interface ApprovalRequest {
	userCode: string;
	ownerId: number;
	ownerSub: string;
	grantedScope: string;
	label: string | null;
}

/** Whether a client's `allow` admits this person, and if not why, naming providers as people know them. */
export function approvalVerdict({ clients, config }: Services, clientId: string, person: Person): RuleVerdict {
	return checkApprover(clients.get(clientId)?.allow, approverOf(person), (id) => providerName(config, id));
}

/** Someone the client's rule refuses opened a code or sent Approve: one audit entry, and the code is left as it was. */
export async function recordApprovalRefusal(services: Services, actor: Actor, authorization: DeviceAuthorization, detail: string, now: number) {
	await recordAudit(
		services,
		{ actor: actor.sub, action: 'device.approve_refused', userCode: authorization.userCode, clientId: authorization.clientId, ip: actor.ip, detail },
		now
	);
}

/**
 * pending → approved; one statement, so only one decision ever wins. `approvedBy` is
 * set when an admin approves on someone else's behalf.
 */
export async function approveDeviceAuthorization(services: Services, actor: Actor, approval: ApprovalRequest, now: number): Promise<Decision> {
	const onBehalf = approval.ownerId !== actor.userId;
	const authorization = await services.store.approveDeviceAuthorization({
		userCode: approval.userCode,
		ownerId: approval.ownerId,
		approvedBy: onBehalf ? actor.userId : null,
		grantedScope: approval.grantedScope,
		label: approval.label,
		claimant: onBehalf ? null : actor.userId,
		now
	});
	if (!authorization) return { ok: false };
	countDeviceFlow('approved');
	await recordAudit(
		services,
		{
			actor: actor.sub,
			action: onBehalf ? 'device.approved_on_behalf' : 'device.approved',
			userCode: approval.userCode,
			clientId: authorization.clientId,
			subject: approval.ownerSub,
			ip: actor.ip,
			detail: `scope "${approval.grantedScope}"${approval.label ? `, label "${approval.label}"` : ''}`
		},
		now
	);
	return { ok: true, authorization };
}

/** pending → denied by a person; the CLI's next poll answers access_denied with the reason. */
export function denyDeviceAuthorization(
	services: Services,
	actor: Actor,
	userCode: string,
	reason: 'user' | 'admin' | 'reported',
	now: number
): Promise<Decision> {
	// The person at /device/confirm decides only a code they claimed; admins may always.
	const claimant = reason === 'admin' ? null : actor.userId;
	return deny(services, { userCode, reason, deniedBy: actor.userId, claimant, actorSub: actor.sub, ip: actor.ip }, now);
}

/** No user has id 0: as a claimant it matches only a code no one has claimed. */
const NO_ONE = 0;

/**
 * The provider refused or failed the sign-in this browser started for a device login.
 * It decides the code only while no one else has claimed it: a browser that merely
 * entered a code cannot deny the login of the person confirming it.
 */
export function denyAfterProviderRefusal(
	services: Services,
	userCode: string,
	reason: 'provider_denied' | 'provider_failed',
	signedInUserId: number | null,
	ip: string | null,
	now: number
): Promise<Decision> {
	return deny(services, { userCode, reason, deniedBy: null, claimant: signedInUserId ?? NO_ONE, actorSub: null, ip }, now);
}

interface DenialRecord {
	userCode: string;
	reason: DenialReason;
	deniedBy: number | null;
	/** Only a code unclaimed or claimed by this user is denied; null: any (admins). */
	claimant: number | null;
	actorSub: string | null;
	ip: string | null;
}

async function deny(services: Services, denial: DenialRecord, now: number): Promise<Decision> {
	const { userCode, reason, deniedBy, claimant } = denial;
	const authorization = await services.store.denyDeviceAuthorization({ userCode, reason, deniedBy, claimant, now });
	if (!authorization) return { ok: false };
	countDeviceFlow('denied');
	await recordAudit(
		services,
		{
			actor: denial.actorSub,
			action: AUDIT_ACTIONS[reason],
			userCode,
			clientId: authorization.clientId,
			ip: denial.ip,
			detail: DENIAL_DESCRIPTIONS[reason]
		},
		now
	);
	return { ok: true, authorization };
}

/**
 * What taking back an approval did: revoked before the CLI collected its tokens (its next
 * poll answers access_denied); too late, the CLI collected them meanwhile and is logged in
 * by the grant named (revoke that to end it); or nothing to take back.
 */
export type ApprovalRevocation = { outcome: 'revoked' } | { outcome: 'collected'; grantId: number } | { outcome: 'gone' };

/** approved → denied before the CLI collected its tokens. `ownerId` null lets an admin revoke anyone's. */
export async function revokeApproval(services: Services, actor: Actor, approvalId: number, ownerId: number | null, now: number): Promise<ApprovalRevocation> {
	const revoked = await services.store.revokeUncollectedApproval(approvalId, ownerId, now);
	if (!revoked) {
		const grantId = await services.store.findCollectedGrant(approvalId, ownerId);
		return grantId === undefined ? { outcome: 'gone' } : { outcome: 'collected', grantId };
	}
	await recordAudit(
		services,
		{
			actor: actor.sub,
			action: AUDIT_ACTIONS.revoked,
			userCode: revoked.userCode,
			clientId: revoked.clientId,
			ip: actor.ip,
			detail: DENIAL_DESCRIPTIONS.revoked
		},
		now
	);
	return { outcome: 'revoked' };
}

/** What a page says when an approval was collected before it could be taken back. */
export const COLLECTED_MESSAGE = 'Too late to take back the approval: the device collected its tokens meanwhile and is logged in. Revoke its login to end it.';
