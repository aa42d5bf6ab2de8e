/** What the store contract (store.ts) reads and writes of the audit log. */

/** An entry to append. */
export interface AuditEntry {
	actor: string | null;
	action: string;
	userCode?: string | null;
	clientId?: string | null;
	subject?: string | null;
	ip?: string | null;
	detail?: string | null;
}

/** An entry as the log keeps it. */
export interface AuditRecord {
	id: number;
	at: number;
	actor: string | null;
	action: string;
	userCode: string | null;
	clientId: string | null;
	subject: string | null;
	ip: string | null;
	detail: string | null;
}
