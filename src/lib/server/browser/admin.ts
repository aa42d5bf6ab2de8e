import { auditPage, recordAudit } from '../core/audit';
import { describeApprovalRule, EMAIL_OWNER_PROVIDER } from '../core/approval-rule';
import { providerName } from '../core/config';
import {
	addressRefusesApproval,
	approvalVerdict,
	approveDeviceAuthorization,
	denyDeviceAuthorization,
	revokeApproval,
	type Actor,
	type ApprovalRevocation,
	type Decision
} from '../oauth/device-authorizations';
import type { Services } from '../core/services';
import { formatUserCode, normalizeUserCode } from '../oauth/user-code';

/** Admins approve codes on behalf of others: the lab workstation, the kiosk, the shared machine. */

const EMAIL = /^[^\s\p{Cc}@<>()",;:\\]+@[^\s\p{Cc}@<>()",;:\\]+\.[^\s\p{Cc}@<>()",;:\\]+$/u;

/** An owner's email address as doorcode keys it: trimmed, lower-cased, or null when it is not one. */
export function normalizeEmail(input: string): string | null {
	const email = input.trim().toLowerCase();
	return email.length <= 254 && EMAIL.test(email) ? email : null;
}

/**
 * The scopes an admin may grant: those chosen that were also requested and that the
 * client may have. The result never holds a scope outside the request.
 */
export function narrowScopes(requested: readonly string[], clientScopes: readonly string[], chosen: readonly string[]): string[] {
	return requested.filter((scope) => chosen.includes(scope) && clientScopes.includes(scope));
}

export type OwnerResolution = { ok: true; ownerId: number; ownerSub: string } | { ok: false; message: string };

/**
 * `Owner` is an email address (the grant then belongs to `email:<address>`, shown to
 * whoever signs in with that verified address) or the `sub` of someone who signed in.
 * The client's `allow` must admit them as far as can be known: an address by its domain
 * or as a listed `email:` sub; someone who signed in by the whole rule.
 */
export async function resolveOwner(services: Services, input: string, clientId: string, now: number): Promise<OwnerResolution> {
	const { store } = services;
	const value = input.trim();
	const asEmail = normalizeEmail(value.startsWith('email:') ? value.slice(6) : value);
	if (asEmail) {
		const owner = { sub: `email:${asEmail}`, provider: EMAIL_OWNER_PROVIDER, email: asEmail, groups: [] };
		const verdict = approvalVerdict(services, clientId, owner);
		if (!verdict.admitted) return { ok: false, message: `${asEmail} cannot own a login to ${clientNameOf(services, clientId)}. ${verdict.reason}` };
		const user = await store.upsertUser({ ...owner, name: null }, now);
		return { ok: true, ownerId: user.id, ownerSub: user.sub };
	}
	// Any provider's sub: ORCID's, Clerk's or a PROVIDERS_FILE provider's (`<id>:<subject>`).
	if (/^[a-z0-9-]{1,32}:[^\s\p{Cc}]+$/u.test(value)) {
		const user = await store.findUserBySub(value);
		if (!user) return { ok: false, message: `No one has signed in as ${value} yet. Enter their email address instead.` };
		const verdict = approvalVerdict(services, clientId, user);
		if (!verdict.admitted) return { ok: false, message: `${value} cannot own a login to ${clientNameOf(services, clientId)}. ${verdict.reason}` };
		return { ok: true, ownerId: user.id, ownerSub: user.sub };
	}
	return { ok: false, message: 'Enter the owner as an email address, or as the sub (<provider>:<id>, e.g. orcid:<iD>) of someone who has signed in.' };
}

function clientNameOf({ clients }: Services, clientId: string): string {
	return clients.get(clientId)?.name ?? clientId;
}

export interface OnBehalfApproval {
	userCode: string;
	owner: string;
	label: string;
	scopes: string[];
}

export type AdminDecision = Decision | { ok: false; message: string };

export async function approveOnBehalf(services: Services, admin: Actor, request: OnBehalfApproval, now: number): Promise<AdminDecision> {
	const userCode = normalizeUserCode(request.userCode);
	const pending = userCode ? await services.store.findLiveDeviceAuthorization(userCode, now) : undefined;
	if (!userCode || !pending) return { ok: false, message: 'That code is not pending any more: it expired or was already decided.' };
	const label = request.label.trim();
	if (label.length > 80 || /[\p{Cc}]/u.test(label)) return { ok: false, message: 'Keep the label under 80 characters.' };
	const client = services.clients.get(pending.clientId);
	if (addressRefusesApproval(client, pending.requesterIp, admin.ip)) {
		return {
			ok: false,
			message: `${client?.name ?? pending.clientId} accepts approval only from the network that asked for the code (${pending.requesterIp ?? 'unknown'}): deny it, or approve it from there.`
		};
	}
	const scopes = narrowScopes(pending.scope.split(' ').filter(Boolean), client?.scopes ?? [], request.scopes);
	if (scopes.length === 0 && pending.scope !== '') return { ok: false, message: 'Grant at least one of the requested scopes, or deny the code.' };
	const owner = await resolveOwner(services, request.owner, pending.clientId, now);
	if (!owner.ok) return owner;
	return approveDeviceAuthorization(
		services,
		admin,
		{ userCode, ownerId: owner.ownerId, ownerSub: owner.ownerSub, grantedScope: scopes.join(' '), label: label || null },
		now
	);
}

export async function denyAsAdmin(services: Services, admin: Actor, userCodeInput: string, now: number): Promise<AdminDecision> {
	const userCode = normalizeUserCode(userCodeInput);
	if (!userCode) return { ok: false, message: 'That is not a code.' };
	return denyDeviceAuthorization(services, admin, userCode, 'admin', now);
}

export async function revokeGrantAsAdmin(services: Services, admin: Actor, grantId: number, now: number): Promise<boolean> {
	const revoked = await services.store.revokeAnyGrant(grantId, now);
	if (!revoked) return false;
	await recordAudit(
		services,
		{ actor: admin.sub, action: 'grant.revoked_by_admin', clientId: revoked.clientId, subject: `grant ${grantId}`, ip: admin.ip },
		now
	);
	return true;
}

/** Takes back anyone's approval before its CLI collected the tokens. */
export function revokeApprovalAsAdmin(services: Services, admin: Actor, approvalId: number, now: number): Promise<ApprovalRevocation> {
	return revokeApproval(services, admin, approvalId, null, now);
}

/** What /admin shows: pending codes, the code looked up, grants and approvals not yet collected, clients, the audit log. */
export async function adminOverview(services: Services, query: { code: string | null; filter: string; page: string | null }, now: number) {
	const { clients, store, config } = services;
	const clientName = (id: string) => clients.get(id)?.name ?? id;
	const whoMayApprove = (id: string) => describeApprovalRule(clients.get(id)?.allow, (provider) => providerName(config, provider));
	const code = normalizeUserCode(query.code ?? '');
	const [pending, selected, uncollected, grants, audit] = await Promise.all([
		store.listPendingAuthorizations(now, 200),
		code ? store.findLiveDeviceAuthorization(code, now) : undefined,
		store.listUncollectedApprovals(null, now),
		// Control characters match no one (and PostgreSQL refuses a NUL in text): dropped.
		store.listAllActiveGrants(
			now,
			query.filter
				.replace(/\p{Cc}/gu, '')
				.trim()
				.toLowerCase()
				.slice(0, 100),
			200
		),
		auditPage(services, query.page)
	]);
	return {
		now,
		pending: pending.map((row) => ({
			userCode: formatUserCode(row.userCode),
			clientName: clientName(row.clientId),
			scope: row.scope,
			createdAt: row.createdAt,
			expiresAt: row.expiresAt,
			requesterIp: row.requesterIp,
			requesterUserAgent: row.requesterUserAgent
		})),
		lookedUp: query.code !== null,
		selected: selected
			? {
					userCode: formatUserCode(selected.userCode),
					clientName: clientName(selected.clientId),
					clientId: selected.clientId,
					scopes: selected.scope.split(' ').filter(Boolean),
					whoMayOwn: whoMayApprove(selected.clientId),
					createdAt: selected.createdAt,
					requesterIp: selected.requesterIp,
					requesterUserAgent: selected.requesterUserAgent
				}
			: null,
		uncollected,
		filter: query.filter,
		grants,
		clients: clients.enabled().map(({ id, name, type, scopes }) => ({ id, name, type, scopes, whoMayApprove: whoMayApprove(id) })),
		audit
	};
}
