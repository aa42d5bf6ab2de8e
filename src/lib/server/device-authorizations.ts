import { resolveRequestedScopes, type Client } from './clients';
import { generateSecret, hashSecret } from './crypto';
import { invalidScope, ok, serverError, type OAuthResult } from './oauth-errors';
import type { RequestContext, Services } from './services';
import type { DeviceAuthorizationRow } from './store';
import { formatUserCode, generateUserCode, normalizeUserCode } from './user-code';

/** Why a device authorization was denied; the CLI is told in plain words. */
export type DenialReason = 'user' | 'provider_denied' | 'provider_failed' | 'reported';

export const DENIAL_DESCRIPTIONS: Record<DenialReason, string> = {
	user: 'The request was denied in the browser.',
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

/** pending → approved, for the owner; one statement, so only one decision ever wins. */
export function approveDeviceAuthorization(
	{ store }: Services,
	approval: { userCode: string; ownerId: number; approvedBy: number | null; grantedScope: string; label: string | null },
	now: number
): Decision {
	const authorization = store.approveDeviceAuthorization({ ...approval, now });
	return authorization ? { ok: true, authorization } : { ok: false };
}

/** pending → denied; the CLI's next poll answers access_denied with the reason. */
export function denyDeviceAuthorization(
	{ store }: Services,
	userCode: string,
	reason: DenialReason,
	deniedBy: number | null,
	now: number
): Decision {
	const authorization = store.denyDeviceAuthorization({ userCode, reason, deniedBy, now });
	return authorization ? { ok: true, authorization } : { ok: false };
}
