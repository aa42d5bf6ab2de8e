import { recordAudit } from '../core/audit';
import { revokeApproval, type ApprovalRevocation } from '../oauth/device-authorizations';
import { PERSONAL_CLIENT_ID, SCOPE_TOKEN } from '../core/clients';
import { generateSecret, hashSecret } from '../core/crypto';
import { providerName } from '../core/config';
import type { Services } from '../core/services';
import type { SessionUser } from './sessions';
import type { Grant, UncollectedApproval } from '../store/store';
import { PERSONAL_TOKEN_PREFIX } from '../oauth/tokens';

/** What a person sees and manages at /account: approved devices and personal access tokens. */

export const PERSONAL_TOKEN_LIFETIMES_DAYS = [7, 30, 90, 365] as const;

/** The scopes a personal access token may carry: any an enabled client may ask for. */
export function personalTokenScopes({ clients }: Services): string[] {
	return [...new Set(clients.enabled().flatMap((client) => client.scopes))];
}

/** The person signed in. */
export type AccountHolder = Pick<SessionUser, 'id' | 'sub' | 'email'>;

/** "Signed in with Acme SSO as Ada Lovelace", and the groups that provider gave. */
export function signedInWith({ config }: Services, user: Pick<SessionUser, 'sub' | 'provider' | 'name' | 'groups'>) {
	return { provider: providerName(config, user.provider), as: user.name ?? user.sub, groups: user.groups };
}

/**
 * The users whose grants are this person's: themselves, and `email:<address>` for the
 * verified address they signed in with, where an admin may have approved devices.
 */
async function ownerIds({ store }: Services, holder: AccountHolder): Promise<number[]> {
	const addressed = holder.email ? await store.findUserBySub(`email:${holder.email}`) : undefined;
	return addressed ? [holder.id, addressed.id] : [holder.id];
}

export async function listDevices(services: Services, holder: AccountHolder, now: number): Promise<Grant[]> {
	const lists = await Promise.all((await ownerIds(services, holder)).map((id) => services.store.listActiveGrants(id, 'device', now)));
	return lists.flat().sort((a, b) => b.createdAt - a.createdAt);
}

/** Codes this person (or an admin for them) approved whose CLI has not collected its tokens yet. */
export async function listUncollectedApprovals(services: Services, holder: AccountHolder, now: number): Promise<UncollectedApproval[]> {
	const lists = await Promise.all((await ownerIds(services, holder)).map((id) => services.store.listUncollectedApprovals(id, now)));
	return lists.flat().sort((a, b) => b.decidedAt - a.decidedAt);
}

/** Takes back an approval of the person's own before its CLI collected the tokens; the CLI hears access_denied. */
export async function revokeOwnApproval(
	services: Services,
	holder: AccountHolder,
	approvalId: number,
	ip: string | null,
	now: number
): Promise<ApprovalRevocation> {
	const actor = { userId: holder.id, sub: holder.sub, ip };
	for (const id of await ownerIds(services, holder)) {
		const revocation = await revokeApproval(services, actor, approvalId, id, now);
		if (revocation.outcome !== 'gone') return revocation;
	}
	return { outcome: 'gone' };
}

export function listPersonalTokens(services: Services, holder: AccountHolder, now: number): Promise<Grant[]> {
	return services.store.listActiveGrants(holder.id, 'personal', now);
}

/** Ends a grant the person owns; its access and refresh tokens stop working at once. */
export async function revokeOwnGrant(services: Services, holder: AccountHolder, grantId: number, ip: string | null, now: number): Promise<boolean> {
	for (const id of await ownerIds(services, holder)) {
		if (await services.store.revokeOwnGrant(grantId, id, now)) {
			await recordAudit(services, { actor: holder.sub, action: 'grant.revoked', subject: `grant ${grantId}`, ip }, now);
			return true;
		}
	}
	return false;
}

export interface PersonalTokenRequest {
	name: string;
	scopes: string[];
	days: number;
}

export type PersonalTokenCreation = { ok: true; token: string; name: string; expiresAt: number } | { ok: false; message: string };

/** A named token for CI and other places with no person at a browser; shown once, stored hashed. */
export async function createPersonalToken(
	services: Services,
	holder: AccountHolder,
	request: PersonalTokenRequest,
	ip: string | null,
	now: number
): Promise<PersonalTokenCreation> {
	const ownerId = holder.id;
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
	const grant = {
		kind: 'personal' as const,
		ownerId,
		clientId: PERSONAL_CLIENT_ID,
		scope: scopes.join(' '),
		label: name,
		approvedBy: null,
		createdAt: now,
		requesterIp: null,
		pickupIp: null,
		expiresAt
	};
	await services.store.createPersonalGrant(grant, hashSecret(token));
	await recordAudit(
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
export async function pickupReceipt({ store }: Services, userCode: string, ownerId: number): Promise<PickupReceipt | null> {
	const row = await store.findPickup(userCode, ownerId);
	if (!row || (row.status !== 'approved' && row.status !== 'consumed')) return null;
	const pickedUp = row.pickedUpAt !== null;
	return {
		pickedUp,
		pickedUpAt: row.pickedUpAt,
		pickupIp: row.pickupIp,
		requesterIp: row.requesterIp,
		ipMismatch: pickedUp && row.pickupIp !== row.requesterIp
	};
}
