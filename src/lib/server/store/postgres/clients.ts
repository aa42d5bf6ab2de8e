import type { Client } from '../../core/clients';
import { planDeclaration } from '../client-declaration';
import { CLIENT_COLUMNS, clientColumns, clientFromColumns, type StoredClientColumns } from '../columns';
import type { ClientChange, Store } from '../store';
import { CLIENTS_LOCK, type Connection } from './connection';

type Clients = Pick<
	Store,
	| 'listClients'
	| 'findClient'
	| 'clientsVersion'
	| 'declareClients'
	| 'createClient'
	| 'updateClient'
	| 'disableClient'
	| 'enableClient'
	| 'setClientSecret'
	| 'deleteClient'
>;

/** Moves clients_version (its one row is made by the first change). */
const MOVE_VERSION = `INSERT INTO clients_version (id, version) SELECT 1, 1
	ON CONFLICT (id) DO UPDATE SET version = clients_version.version + 1`;

/**
 * A write to one client, and clients_version moved by the same statement when it wrote a row:
 * instances reading the version see every change.
 */
const changingOne = (write: string) => `WITH changed AS (${write} RETURNING ${CLIENT_COLUMNS}),
	moved AS (${MOVE_VERSION} WHERE EXISTS (SELECT FROM changed))
	SELECT * FROM changed`;

/** Clients: CLIENTS_FILE's, and those made at run time. Every statement below but the declaration's leaves the file's clients alone. */
export function clients({ query, one, transaction }: Connection): Clients {
	const changed = async (name: string, write: string, values: unknown[]) => {
		const row = await one<StoredClientColumns>(name, changingOne(write), values);
		return row && clientFromColumns(row);
	};
	const written = (client: Client) => {
		const columns = clientColumns(client);
		return [columns.id, columns.name, columns.type, columns.secret_sha256, columns.settings];
	};

	return {
		listClients: async (search) =>
			(
				await query<StoredClientColumns>(
					'listClients',
					`SELECT ${CLIENT_COLUMNS} FROM clients WHERE $1 = '' OR strpos(lower(id), $1) > 0 OR strpos(lower(name), $1) > 0 ORDER BY id`,
					[search.toLowerCase()]
				)
			).map(clientFromColumns),
		findClient: async (id) => {
			const row = await one<StoredClientColumns>('findClient', `SELECT ${CLIENT_COLUMNS} FROM clients WHERE id = $1`, [id]);
			return row && clientFromColumns(row);
		},
		clientsVersion: async () =>
			(await one<{ version: number }>('clientsVersion', `SELECT coalesce((SELECT version FROM clients_version WHERE id = 1), 0) AS version`, []))!.version,

		createClient: async (client, managedBy, change: ClientChange) =>
			(await changed(
				'createClient',
				`INSERT INTO clients (id, name, type, secret_sha256, settings, managed_by, disabled_at, created_at, updated_at, updated_by)
				 VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $7, $8) ON CONFLICT (id) DO NOTHING`,
				[...written(client), managedBy, change.at, change.by]
			)) ?? 'id_taken',
		updateClient: (client, change) =>
			changed(
				'updateClient',
				`UPDATE clients SET name = $2, type = $3, secret_sha256 = $4, settings = $5, updated_at = $6, updated_by = $7
				 WHERE id = $1 AND managed_by <> 'file'`,
				[...written(client), change.at, change.by]
			),
		disableClient: (id, change) =>
			changed(
				'disableClient',
				`UPDATE clients SET disabled_at = coalesce(disabled_at, $2), updated_at = $2, updated_by = $3 WHERE id = $1 AND managed_by <> 'file'`,
				[id, change.at, change.by]
			),
		enableClient: (id, change) =>
			changed('enableClient', `UPDATE clients SET disabled_at = NULL, updated_at = $2, updated_by = $3 WHERE id = $1 AND managed_by <> 'file'`, [
				id,
				change.at,
				change.by
			]),
		setClientSecret: (id, secretSha256, change) =>
			changed(
				'setClientSecret',
				`UPDATE clients SET secret_sha256 = $2, updated_at = $3, updated_by = $4 WHERE id = $1 AND type = 'confidential' AND managed_by <> 'file'`,
				[id, secretSha256, change.at, change.by]
			),
		// One statement: the client goes, its live grants end and the version moves, or nothing happens.
		deleteClient: async (id, at) => {
			const result = await one<{ deleted: number; revoked: number }>(
				'deleteClient',
				`WITH gone AS (DELETE FROM clients WHERE id = $1 AND managed_by <> 'file' RETURNING id),
					revoked AS (UPDATE grants SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL AND EXISTS (SELECT FROM gone) RETURNING id),
					moved AS (INSERT INTO clients_version (id, version) SELECT 1, 1 WHERE EXISTS (SELECT FROM gone)
						ON CONFLICT (id) DO UPDATE SET version = clients_version.version + 1)
				 SELECT (SELECT count(*) FROM gone)::int AS deleted, (SELECT count(*) FROM revoked)::int AS revoked`,
				[id, at]
			);
			return result!.deleted === 1 ? { revokedGrants: result!.revoked } : undefined;
		},

		// Instances starting together each declare the file: they take turns under a lock, and the
		// second finds nothing left to change.
		declareClients: (declared, at) =>
			transaction(async (client) => {
				await client.query('SELECT pg_advisory_xact_lock($1)', [CLIENTS_LOCK]);
				const stored = (await client.query<StoredClientColumns>(`SELECT ${CLIENT_COLUMNS} FROM clients`)).rows;
				const plan = planDeclaration(stored, declared);
				const created: string[] = [];
				for (const entry of plan.create) {
					// An admin may have taken the id since it was read: then the file's entry is skipped.
					const inserted = await client.query(
						`INSERT INTO clients (id, name, type, secret_sha256, settings, managed_by, disabled_at, created_at, updated_at, updated_by)
						 VALUES ($1, $2, $3, $4, $5, 'file', NULL, $6, $6, 'file') ON CONFLICT (id) DO NOTHING`,
						[...written(entry), at]
					);
					if (inserted.rowCount === 1) created.push(entry.id);
					else plan.skipped.push(entry.id);
				}
				for (const entry of plan.update)
					await client.query(
						`UPDATE clients SET name = $2, type = $3, secret_sha256 = $4, settings = $5, disabled_at = NULL, updated_at = $6, updated_by = 'file'
						 WHERE id = $1 AND managed_by = 'file'`,
						[...written(entry), at]
					);
				if (plan.disable.length > 0)
					await client.query(`UPDATE clients SET disabled_at = $2, updated_at = $2, updated_by = 'file' WHERE id = ANY($1) AND managed_by = 'file'`, [
						plan.disable,
						at
					]);
				if (created.length + plan.update.length + plan.disable.length > 0) await client.query(MOVE_VERSION);
				return { created, updated: plan.update.map((entry) => entry.id), disabled: plan.disable, skipped: plan.skipped };
			})
	};
}
