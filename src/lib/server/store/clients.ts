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
	/** What RFC 7591 registration made it with; null for a client it did not make. */
	registration: ClientRegistration | null;
}

/** RFC 7591/7592: what a registered client registered beyond its settings. */
export interface ClientRegistration {
	/** Hex SHA-256 of its registration access token (RFC 7592 §1); never the token itself. */
	accessTokenSha256: string;
	/** How it said it authenticates at the token endpoint (RFC 7591 §2), answered back as registered. */
	tokenEndpointAuthMethod: 'none' | 'client_secret_basic' | 'client_secret_post';
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
