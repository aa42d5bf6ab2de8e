import type { Client, ClientManager } from '../core/clients';
import type { StoredClient } from './clients';

/** Values both engines keep in a text column of their own making, written the same way by each. */

/** A person's groups as stored: a sorted JSON array without repeats; null keeps what is stored. */
export function groupsJson(groups: string[] | null | undefined): string | null {
	return groups ? JSON.stringify([...new Set(groups)].sort()) : null;
}

/** A client's columns as both engines store them: the policy beyond id, name, type and secret is one JSON text. */
export interface ClientColumns {
	id: string;
	name: string;
	type: 'public' | 'confidential';
	secret_sha256: string | null;
	settings: string;
}

/** The columns a client is written as. */
export function clientColumns({ id, name, type, secretSha256, ...settings }: Client): ClientColumns {
	return { id, name, type, secret_sha256: secretSha256 ?? null, settings: JSON.stringify(settings) };
}

/** A stored client's row, as either engine reads it. */
export type StoredClientColumns = ClientColumns & {
	managed_by: ClientManager;
	disabled_at: number | null;
	created_at: number;
	updated_at: number;
	updated_by: string;
};

export const CLIENT_COLUMNS = 'id, name, type, secret_sha256, settings, managed_by, disabled_at, created_at, updated_at, updated_by';

/** The client a stored row holds. */
export function clientFromColumns(row: StoredClientColumns): StoredClient {
	return {
		id: row.id,
		name: row.name,
		type: row.type,
		...(row.secret_sha256 === null ? {} : { secretSha256: row.secret_sha256 }),
		...(JSON.parse(row.settings) as Omit<Client, 'id' | 'name' | 'type' | 'secretSha256'>),
		managedBy: row.managed_by,
		disabledAt: row.disabled_at,
		createdAt: row.created_at,
		updatedAt: row.updated_at,
		updatedBy: row.updated_by
	};
}
