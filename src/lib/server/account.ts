import { recordAudit } from './audit';
import { revokeUncollectedApproval } from './device-authorizations';
import { SCOPE_TOKEN } from './clients';
import { generateSecret, hashSecret } from './crypto';
import type { Services } from './services';
import type { GrantRow, UncollectedApprovalRow } from './store';
import { PERSONAL_CLIENT_ID, PERSONAL_TOKEN_PREFIX } from './tokens';

/** What a person sees and manages at /account: approved devices and personal access tokens. */

export const PERSONAL_TOKEN_LIFETIMES_DAYS = [7, 30, 90, 365] as const;

/** The scopes a personal access token may carry: any a configured client may ask for. */
export function personalTokenScopes({ config }: Services): string[] {
	return [...new Set(config.clients.flatMap((client) => client.scopes))];
}

/** The person signed in. */
export interface AccountHolder {
	user_id: number;
	sub: string;
	email: string | null;
}

/**
 * The users whose grants are this person's: themselves, and `email:<address>` for the
 * verified address they signed in with, where an admin may have approved devices.
 */
function ownerIds({ store }: Services, holder: AccountHolder): number[] {
	const addressed = holder.email ? store.findUserBySub(`email:${holder.email}`) : undefined;
	return addressed ? [holder.user_id, addressed.id] : [holder.user_id];
}

export function listDevices(services: Services, holder: AccountHolder, now: number): GrantRow[] {
	return ownerIds(services, holder)
		.flatMap((id) => services.store.listActiveGrants(id, 'device', now))
		.sort((a, b) => b.created_at - a.created_at);
}

/** Codes this person (or an admin for them) approved whose CLI has not collected its tokens yet. */
export function listUncollectedApprovals(services: Services, holder: AccountHolder, now: number): UncollectedApprovalRow[] {
	return ownerIds(services, holder)
		.flatMap((id) => services.store.listUncollectedApprovals(id, now))
		.sort((a, b) => b.decided_at - a.decided_at);
}

/** Takes back an approval of the person's own before its CLI collected the tokens; the CLI hears access_denied. */
export function revokeOwnApproval(services: Services, holder: AccountHolder, approvalId: number, ip: string | null, now: number): boolean {
	const actor = { userId: holder.user_id, sub: holder.sub, ip };
	return ownerIds(services, holder).some((id) => revokeUncollectedApproval(services, actor, approvalId, id, now));
}

export function listPersonalTokens(services: Services, holder: AccountHolder, now: number): GrantRow[] {
	return services.store.listActiveGrants(holder.user_id, 'personal', now);
}

/** Ends a grant the person owns; its access and refresh tokens stop working at once. */
export function revokeOwnGrant(services: Services, holder: AccountHolder, grantId: number, ip: string | null, now: number): boolean {
	const revoked = ownerIds(services, holder).some((id) => services.store.revokeOwnGrant(grantId, id, now));
	if (revoked) recordAudit(services, { actor: holder.sub, action: 'grant.revoked', subject: `grant ${grantId}`, ip }, now);
	return revoked;
}

export interface PersonalTokenRequest {
	name: string;
	scopes: string[];
	days: number;
}

export type PersonalTokenCreation = { ok: true; token: string; name: string; expiresAt: number } | { ok: false; message: string };

/** A named token for CI and other places with no person at a browser; shown once, stored hashed. */
export function createPersonalToken(
	services: Services,
	holder: AccountHolder,
	request: PersonalTokenRequest,
	ip: string | null,
	now: number
): PersonalTokenCreation {
	const ownerId = holder.user_id;
	const name = request.name.trim();
	if (name.length === 0 || name.length > 60 || /[\p{Cc}]/u.test(name)) {
		return { ok: false, message: 'Give the token a name of 1 to 60 characters, e.g. "CI deploy".' };
	}
	const allowed = personalTokenScopes(services);
	const scopes = [...new Set(request.scopes)];
	if (scopes.length === 0 || !scopes.every((scope) => SCOPE_TOKEN.test(scope) && allowed.includes(scope))) {
		return { ok: false, message: `Choose scopes from: ${allowed.join(', ')}.` };
	}
	if (!(PERSONAL_TOKEN_LIFETIMES_DAYS as readonly number[]).includes(request.days)) {
		return { ok: false, message: `Choose an expiry of ${PERSONAL_TOKEN_LIFETIMES_DAYS.join(', ')} days.` };
	}
	const token = generateSecret(PERSONAL_TOKEN_PREFIX);
	const expiresAt = now + request.days * 86_400_000;
	const { store } = services;
	store.transaction(() => {
		const grantId = store.insertGrant({
			kind: 'personal',
			ownerId,
			clientId: PERSONAL_CLIENT_ID,
			scope: scopes.join(' '),
			label: name,
			approvedBy: null,
			createdAt: now,
			requesterIp: null,
			pickupIp: null,
			expiresAt
		});
		store.insertToken(hashSecret(token), grantId, 'access', now, expiresAt);
	});
	recordAudit(
		services,
		{ actor: holder.sub, action: 'token.personal_created', subject: holder.sub, ip, detail: `"${name}", scope "${scopes.join(' ')}", ${request.days} days` },
		now
	);
	return { ok: true, token, name, expiresAt };
}

export interface PickupReceipt {
	pickedUp: boolean;
	pickedUpAt: number | null;
	pickupIp: string | null;
	requesterIp: string | null;
	/** The CLI collected the tokens from another address than the one that asked for the code. */
	ipMismatch: boolean;
}

/**
 * After approving: when the CLI collected its tokens and from where. A different
 * address than the one that asked for the code turns a silent phish into a visible one.
 */
export function pickupReceipt({ store }: Services, userCode: string, ownerId: number): PickupReceipt | null {
	const row = store.findPickup(userCode, ownerId);
	if (!row || (row.status !== 'approved' && row.status !== 'consumed')) return null;
	const pickedUp = row.picked_up_at !== null;
	return {
		pickedUp,
		pickedUpAt: row.picked_up_at,
		pickupIp: row.pickup_ip,
		requesterIp: row.requester_ip,
		ipMismatch: pickedUp && row.pickup_ip !== row.requester_ip
	};
}
