import type { Services } from './services';
import type { Verdict } from './rate-limit';
import type { AuditEntry, AuditRecord } from '../store/store';

/**
 * The audit log: approvals, denials, provider refusals, revocations, admin actions and
 * rate-limit refusals, with who, what, when and from where. Only user codes appear
 * in it, never device codes, tokens or secrets.
 */
export async function recordAudit({ store }: Services, entry: AuditEntry, now: number): Promise<void> {
	await store.insertAudit(entry, now);
}

export const AUDIT_PAGE_SIZE = 50;

/** Pages past the last are simply empty; this bound keeps the offset a number SQLite takes. */
const MAX_AUDIT_PAGE = 1_000_000;

export async function auditPage({ store }: Services, pageParam: string | null): Promise<{ entries: AuditRecord[]; page: number; hasMore: boolean }> {
	const asked = /^\d{1,7}$/.test(pageParam ?? '') ? Number(pageParam) : 1;
	const current = Math.min(MAX_AUDIT_PAGE, Math.max(1, asked));
	const rows = await store.listAudit(AUDIT_PAGE_SIZE + 1, (current - 1) * AUDIT_PAGE_SIZE);
	return { entries: rows.slice(0, AUDIT_PAGE_SIZE), page: current, hasMore: rows.length > AUDIT_PAGE_SIZE };
}

/** A rate-limit refusal: recorded once per window or block, so a flood cannot flood the log. */
export async function recordRateLimit(services: Services, verdict: Verdict, what: string, ip: string | null, now: number): Promise<void> {
	if (!verdict.ok && verdict.first) {
		await recordAudit(services, { actor: null, action: 'ratelimit.refused', ip, detail: `${what}; retry after ${verdict.retryAfter} s` }, now);
	}
}
