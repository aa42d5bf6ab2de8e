import { recordAudit, recordRateLimit } from './audit';
import { resolveRequestedScopes, type Client } from './clients';
import { generateSecret, hashSecret } from './crypto';
import { invalidScope, ok, serverError, type OAuthResult } from './oauth-errors';
import type { RequestContext, Services } from './services';
import type { DeviceAuthorizationRow } from './store';
import { formatUserCode, generateUserCode, normalizeUserCode } from './user-code';

/** Why a device authorization was denied; the CLI is told in plain words. */
export type DenialReason = 'user' | 'admin' | 'provider_denied' | 'provider_failed' | 'reported';

export const DENIAL_DESCRIPTIONS: Record<DenialReason, string> = {
	user: 'The request was denied in the browser.',
	admin: 'An administrator denied the request.',
	provider_denied: 'The sign-in was cancelled or refused at the identity provider.',
	provider_failed: 'The sign-in at the identity provider failed.',
	reported: 'The person at the browser reported that they did not start this login.'
};

/** RFC 8628 §3.1–3.2: a new device code and user code for an authenticated client. */
export function createDeviceAuthorization({ config, store }: Services, client: Client, scopeParam: string | undefined, context: RequestContext): OAuthResult {
	const scopes = resolveRequestedScopes(client, scopeParam);
	if ('unknown' in scopes) {
		return invalidScope(`This client may not ask for: ${scopes.unknown.join(' ')}.`).toResult();
	}
	const deviceCode = generateSecret();
	const deviceCodeHash = hashSecret(deviceCode);
	// A collision with a live user code is rare (20^8 codes); a few fresh draws settle it.
	for (let attempt = 0; attempt < 5; attempt++) {
		const userCode = generateUserCode();
		try {
			store.insertDeviceAuthorization({
				deviceCodeHash,
				userCode,
				clientId: client.id,
				scope: scopes.join(' '),
				createdAt: context.now,
				expiresAt: context.now + config.deviceCodeTtl * 1000,
				intervalSeconds: config.pollInterval,
				requesterIp: context.ip,
				requesterUserAgent: context.userAgent?.slice(0, 300) ?? null
			});
		} catch (error) {
			if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') continue;
			throw error;
		}
		return ok({
			device_code: deviceCode,
			user_code: formatUserCode(userCode),
			verification_uri: `${config.origin}/device`,
			verification_uri_complete: `${config.origin}/device?user_code=${formatUserCode(userCode)}`,
			expires_in: config.deviceCodeTtl,
			interval: config.pollInterval
		});
	}
	return serverError().toResult();
}

export type CodeEntry =
	{ ok: true; authorization: DeviceAuthorizationRow } | { ok: false; reason: 'invalid' } | { ok: false; reason: 'limited'; retryAfter: number };

/** Where a typed code comes from: wrong codes are counted per address and per browser. */
export interface CodeEntrySource {
	ip: string | null;
	browser: string;
}

/**
 * A person typed a code. Unknown, expired and used codes all answer the same
 * `invalid`, so the page is no oracle for guessing (RFC 8628 §5.1); wrong codes
 * from one address or one browser earn a growing wait, whatever code they aim at.
 */
export function enterUserCode(services: Services, input: string, source: CodeEntrySource, now: number): CodeEntry {
	const { store, limiter, config } = services;
	const keys = [`code-ip:${source.ip ?? 'unknown'}`, `code-browser:${source.browser}`];
	for (const key of keys) {
		const verdict = limiter.blocked(key, now);
		if (!verdict.ok) return { ok: false, reason: 'limited', retryAfter: verdict.retryAfter };
	}
	const userCode = normalizeUserCode(input);
	const authorization = userCode ? store.markDeviceAuthorizationEntered(userCode, now) : undefined;
	if (authorization) return { ok: true, authorization };
	let retryAfter = 0;
	for (const key of keys) {
		const verdict = limiter.fail(key, config.limits.codeEntry, now);
		if (!verdict.ok) {
			retryAfter = Math.max(retryAfter, verdict.retryAfter);
			recordRateLimit(services, verdict, 'wrong codes entered', source.ip, now);
		}
	}
	return retryAfter ? { ok: false, reason: 'limited', retryAfter } : { ok: false, reason: 'invalid' };
}

/** The pending authorization behind a code, while it can still be approved. */
export function findPendingAuthorization({ store }: Services, userCode: string, now: number) {
	return store.findLiveDeviceAuthorization(userCode, now);
}

export type Decision = { ok: true; authorization: DeviceAuthorizationRow } | { ok: false };

const AUDIT_ACTIONS: Record<DenialReason, string> = {
	user: 'device.denied',
	admin: 'device.denied_by_admin',
	provider_denied: 'device.provider_refused',
	provider_failed: 'device.provider_refused',
	reported: 'device.reported'
};

/**
 * The first signed-in person to open a code's confirm page claims it: from then on
 * only they can approve or deny it, so a phished code cannot be decided by two people.
 */
export function claimForConfirmation({ store }: Services, userCode: string, userId: number, now: number) {
	return store.claimDeviceAuthorization(userCode, userId, now);
}

/**
 * "I didn't start this": deny the code, mark it reported in the audit log, and refuse
 * new codes from the address that asked for it for REPORT_BLOCK_SECONDS.
 */
export function reportDeviceAuthorization(services: Services, actor: Actor, userCode: string, now: number) {
	const decision = denyDeviceAuthorization(services, actor, userCode, 'reported', now);
	if (!decision.ok) return decision;
	const ip = decision.authorization.requester_ip;
	const until = now + services.config.reportBlockSeconds * 1000;
	if (ip) services.store.blockAddress(ip, until, `reported by ${actor.sub}`);
	return { ok: true as const, requesterIp: ip, blockedUntil: until };
}

/** Who acts in the browser, for the decision and the audit log. */
export interface Actor {
	userId: number;
	sub: string;
	ip: string | null;
}

export interface Approval {
	userCode: string;
	ownerId: number;
	ownerSub: string;
	grantedScope: string;
	label: string | null;
}

/**
 * pending → approved; one statement, so only one decision ever wins. `approvedBy` is
 * set when an admin approves on someone else's behalf.
 */
export function approveDeviceAuthorization(services: Services, actor: Actor, approval: Approval, now: number): Decision {
	const onBehalf = approval.ownerId !== actor.userId;
	const authorization = services.store.approveDeviceAuthorization({
		userCode: approval.userCode,
		ownerId: approval.ownerId,
		approvedBy: onBehalf ? actor.userId : null,
		grantedScope: approval.grantedScope,
		label: approval.label,
		claimant: onBehalf ? null : actor.userId,
		now
	});
	if (!authorization) return { ok: false };
	recordAudit(
		services,
		{
			actor: actor.sub,
			action: onBehalf ? 'device.approved_on_behalf' : 'device.approved',
			userCode: approval.userCode,
			clientId: authorization.client_id,
			subject: approval.ownerSub,
			ip: actor.ip,
			detail: `scope "${approval.grantedScope}"${approval.label ? `, label "${approval.label}"` : ''}`
		},
		now
	);
	return { ok: true, authorization };
}

/** pending → denied; the CLI's next poll answers access_denied with the reason. */
export function denyDeviceAuthorization(
	services: Services,
	actor: Actor | null,
	userCode: string,
	reason: DenialReason,
	now: number,
	ip: string | null = actor?.ip ?? null
): Decision {
	// The person at /device/confirm decides only a code they claimed; admins and providers may always.
	const claimant = reason === 'user' || reason === 'reported' ? (actor?.userId ?? null) : null;
	const authorization = services.store.denyDeviceAuthorization({ userCode, reason, deniedBy: actor?.userId ?? null, claimant, now });
	if (!authorization) return { ok: false };
	recordAudit(
		services,
		{
			actor: actor?.sub ?? null,
			action: AUDIT_ACTIONS[reason],
			userCode,
			clientId: authorization.client_id,
			ip,
			detail: DENIAL_DESCRIPTIONS[reason]
		},
		now
	);
	return { ok: true, authorization };
}
