import type { Client, ClientManager } from '../core/clients';

/** What the store contract (store.ts) reads and writes of clients. */

/** A client as stored: its settings, who manages it, whether it is disabled, and when and by whom it last changed. */
export interface StoredClient extends Client {
	managedBy: ClientManager;
	/** When it was disabled; null while it may act. */
	disabledAt: number | null;
	createdAt: number;
	updatedAt: number;
	/** Who made the last change: "file", "operator", an admin's sub, "registration". */
	updatedBy: string;
}

/** Who changes a client, and when. */
export interface ClientChange {
	by: string;
	at: number;
}

/** What applying CLIENTS_FILE changed, by client id; `skipped`: ids the file names that an admin or registration manages. */
export interface ClientDeclaration {
	created: string[];
	updated: string[];
	disabled: string[];
	skipped: string[];
}
