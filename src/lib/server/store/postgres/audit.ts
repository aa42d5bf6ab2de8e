import type { AuditRecord, Store } from '../store';
import type { Connection } from './connection';

/** The audit log. */
export function audit({ query }: Connection): Pick<Store, 'insertAudit' | 'listAudit'> {
	return {
		insertAudit: async (entry, at) => {
			await query(
				'insertAudit',
				`INSERT INTO audit_log (at, actor, action, user_code, client_id, subject, ip, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				[at, entry.actor, entry.action, entry.userCode ?? null, entry.clientId ?? null, entry.subject ?? null, entry.ip ?? null, entry.detail ?? null]
			);
		},
		listAudit: (limit, offset) =>
			query<AuditRecord>(
				'listAudit',
				`SELECT id, at, actor, action, user_code AS "userCode", client_id AS "clientId", subject, ip, detail
				 FROM audit_log ORDER BY id DESC LIMIT $1 OFFSET $2`,
				[limit, offset]
			)
	};
}
