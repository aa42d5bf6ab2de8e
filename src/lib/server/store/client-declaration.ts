import { isDeepStrictEqual } from 'node:util';
import type { Client } from '../core/clients';
import { clientColumns, type StoredClientColumns } from './columns';

/**
 * What applying CLIENTS_FILE must change, from the clients stored now: both engines read
 * them and write the plan in one transaction (store.ts declareClients). A client the file
 * names that is stored the same and enabled is left alone, so declaring the same file
 * again changes nothing, not even when a client was last updated.
 */
export interface DeclarationPlan {
	create: Client[];
	/** Changed, or disabled and named again: written and enabled. */
	update: Client[];
	/** The file's clients it no longer names that are still enabled. */
	disable: string[];
	/** Named by the file, but an admin or registration manages that id. */
	skipped: string[];
}

export function planDeclaration(stored: StoredClientColumns[], declared: Client[]): DeclarationPlan {
	const byId = new Map(stored.map((row) => [row.id, row]));
	const plan: DeclarationPlan = { create: [], update: [], disable: [], skipped: [] };
	for (const client of declared) {
		const row = byId.get(client.id);
		if (!row) plan.create.push(client);
		else if (row.managed_by !== 'file') plan.skipped.push(client.id);
		else if (row.disabled_at !== null || !sameColumns(row, client)) plan.update.push(client);
	}
	const named = new Set(declared.map((client) => client.id));
	plan.disable = stored.filter((row) => row.managed_by === 'file' && row.disabled_at === null && !named.has(row.id)).map((row) => row.id);
	return plan;
}

function sameColumns(row: StoredClientColumns, client: Client): boolean {
	const wanted = clientColumns(client);
	return (
		row.name === wanted.name &&
		row.type === wanted.type &&
		row.secret_sha256 === wanted.secret_sha256 &&
		isDeepStrictEqual(JSON.parse(row.settings), JSON.parse(wanted.settings))
	);
}
