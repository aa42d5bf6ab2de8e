import type { AuditRecord, Store } from '../store';
import type { Connection } from './connection';

/** The audit log. */
export function audit(db: Connection) {
	// The named parameters are an entry as the log keeps it, before it has an id.
	const auditInsert = db.prepare<[Omit<AuditRecord, 'id'>]>(
		`INSERT INTO audit_log (at, actor, action, user_code, client_id, subject, ip, detail)
		 VALUES (:at, :actor, :action, :userCode, :clientId, :subject, :ip, :detail)`
	);
	const insertAudit: Store['insertAudit'] = async (entry, at) =>
		void auditInsert.run({
			at,
			actor: entry.actor,
			action: entry.action,
			userCode: entry.userCode ?? null,
			clientId: entry.clientId ?? null,
			subject: entry.subject ?? null,
			ip: entry.ip ?? null,
			detail: entry.detail ?? null
		});

	const auditPage = db.prepare<[number, number], AuditRecord>(
		`SELECT id, at, actor, action, user_code AS userCode, client_id AS clientId, subject, ip, detail
		 FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?`
	);
	const listAudit: Store['listAudit'] = async (limit, offset) => auditPage.all(limit, offset);

	return { insertAudit, listAudit };
}
