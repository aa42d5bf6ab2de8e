import { recordAudit } from './audit';
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
export function createDeviceAuthorization(
	{ config, store }: Services,
	client: Client,
	scopeParam: string | undefined,
	context: RequestContext
): OAuthResult {
	const scopes = resolveRequestedScopes(client, scopeParam);
	if ('unknown' in scopes) {
		return invalidScope(`This client may not ask for: ${scopes.unknown.join(' ')}.`).toResult();
	}
	const deviceCode = generateSecret();
	// A collision with a live user code is rare (20^8 codes); a few fresh draws settle it.
	for (let attempt = 0; attempt < 5; attempt++) {
		const userCode = generateUserCode();
		try {
			store.insertDeviceAuthorization({
				deviceCodeHash: hashSecret(deviceCode),
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

export type CodeEntry = { ok: true; authorization: DeviceAuthorizationRow } | { ok: false };

/**
 * A person typed a code. Unknown, expired and used codes all answer the same
 * `{ ok: false }`, so the page is no oracle for guessing (RFC 8628 §5.1).
 */
export function enterUserCode({ store }: Services, input: string, now: number): CodeEntry {
	const userCode = normalizeUserCode(input);
	const authorization = userCode ? store.markDeviceAuthorizationEntered(userCode, now) : undefined;
	return authorization ? { ok: true, authorization } : { ok: false };
}

/** The pending authorization behind a code, while it can still be approved. */
export function findPendingAuthorization({ store }: Services, userCode: string, now: number) {
	return store.findLiveDeviceAuthorization(userCode, now);
}

export type Decision = { ok: true; authorization: DeviceAuthorizationRow } | { ok: false };

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
	const authorization = services.store.denyDeviceAuthorization({ userCode, reason, deniedBy: actor?.userId ?? null, now });
	if (!authorization) return { ok: false };
	recordAudit(
		services,
		{
			actor: actor?.sub ?? null,
			action: reason.startsWith('provider') ? 'device.provider_refused' : reason === 'admin' ? 'device.denied_by_admin' : 'device.denied',
			userCode,
			clientId: authorization.client_id,
			ip,
			detail: DENIAL_DESCRIPTIONS[reason]
		},
		now
	);
	return { ok: true, authorization };
}
