import type { Client, ClientManager } from '../../core/clients';
import { planDeclaration } from '../client-declaration';
import { CLIENT_COLUMNS, clientColumns, clientFromColumns, type ClientColumns, type StoredClientColumns } from '../columns';
import type { ClientChange, StoredClient, Store } from '../store';
import type { Connection } from './connection';
import { written } from './shared';

/**
 * Clients: CLIENTS_FILE's, and those made at run time. Every change moves clients_version in
 * its own transaction, IMMEDIATE so that the operator's command and the server, two processes
 * on one file, take turns instead of failing to upgrade a read lock.
 */
export function clients(db: Connection) {
	const read = (rows: StoredClientColumns[]) => rows.map(clientFromColumns);
	const bumpVersion = db.prepare(
		`INSERT INTO clients_version (id, version) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET version = clients_version.version + 1`
	);
	/** Runs `write` and moves the version when it changed a row. */
	const changing = <A extends unknown[]>(write: (...args: A) => StoredClientColumns | undefined) =>
		db.transaction((...args: A): StoredClient | undefined => {
			const row = write(...args);
			if (row) bumpVersion.run();
			return row && clientFromColumns(row);
		}).immediate;

	const everyClient = db.prepare<[], StoredClientColumns>(`SELECT ${CLIENT_COLUMNS} FROM clients ORDER BY id`);
	const matchingClients = db.prepare<[{ search: string }], StoredClientColumns>(
		`SELECT ${CLIENT_COLUMNS} FROM clients
		 WHERE :search = '' OR instr(lower(id), :search) OR instr(lower(name), :search)
		 ORDER BY id`
	);
	const listClients: Store['listClients'] = async (search) => read(search === '' ? everyClient.all() : matchingClients.all({ search: search.toLowerCase() }));

	const clientById = db.prepare<[string], StoredClientColumns>(`SELECT ${CLIENT_COLUMNS} FROM clients WHERE id = ?`);
	const findClient: Store['findClient'] = async (id) => {
		const row = clientById.get(id);
		return row && clientFromColumns(row);
	};

	const version = db.prepare<[], { version: number }>(`SELECT coalesce((SELECT version FROM clients_version WHERE id = 1), 0) AS version`);
	const clientsVersion: Store['clientsVersion'] = async () => version.get()!.version;

	type Written = ClientColumns & { managedBy: ClientManager; at: number; by: string };
	const insert = db.prepare<[Written], StoredClientColumns>(
		`INSERT INTO clients (id, name, type, secret_sha256, settings, managed_by, disabled_at, created_at, updated_at, updated_by)
		 VALUES (:id, :name, :type, :secret_sha256, :settings, :managedBy, NULL, :at, :at, :by)
		 ON CONFLICT (id) DO NOTHING
		 RETURNING ${CLIENT_COLUMNS}`
	);
	const create = changing((client: Client, managedBy: ClientManager, change: ClientChange) =>
		written(insert.all({ ...clientColumns(client), managedBy, at: change.at, by: change.by }))
	);
	const createClient: Store['createClient'] = async (client, managedBy, change) => create(client, managedBy, change) ?? 'id_taken';

	/** Every write below but the declaration's leaves the file's clients alone. */
	const settingsUpdate = db.prepare<[ClientColumns & ClientChange], StoredClientColumns>(
		`UPDATE clients SET name = :name, type = :type, secret_sha256 = :secret_sha256, settings = :settings, updated_at = :at, updated_by = :by
		 WHERE id = :id AND managed_by <> 'file'
		 RETURNING ${CLIENT_COLUMNS}`
	);
	const update = changing((client: Client, change: ClientChange) => written(settingsUpdate.all({ ...clientColumns(client), ...change })));
	const updateClient: Store['updateClient'] = async (client, change) => update(client, change);

	const disabling = db.prepare<[{ id: string } & ClientChange], StoredClientColumns>(
		`UPDATE clients SET disabled_at = coalesce(disabled_at, :at), updated_at = :at, updated_by = :by
		 WHERE id = :id AND managed_by <> 'file'
		 RETURNING ${CLIENT_COLUMNS}`
	);
	const disable = changing((id: string, change: ClientChange) => written(disabling.all({ id, ...change })));
	const disableClient: Store['disableClient'] = async (id, change) => disable(id, change);

	const enabling = db.prepare<[{ id: string } & ClientChange], StoredClientColumns>(
		`UPDATE clients SET disabled_at = NULL, updated_at = :at, updated_by = :by
		 WHERE id = :id AND managed_by <> 'file'
		 RETURNING ${CLIENT_COLUMNS}`
	);
	const enable = changing((id: string, change: ClientChange) => written(enabling.all({ id, ...change })));
	const enableClient: Store['enableClient'] = async (id, change) => enable(id, change);

	const secretUpdate = db.prepare<[{ id: string; secret: string } & ClientChange], StoredClientColumns>(
		`UPDATE clients SET secret_sha256 = :secret, updated_at = :at, updated_by = :by
		 WHERE id = :id AND type = 'confidential' AND managed_by <> 'file'
		 RETURNING ${CLIENT_COLUMNS}`
	);
	const rotate = changing((id: string, secret: string, change: ClientChange) => written(secretUpdate.all({ id, secret, ...change })));
	const setClientSecret: Store['setClientSecret'] = async (id, secretSha256, change) => rotate(id, secretSha256, change);

	const clientDelete = db.prepare<[string], { id: string }>(`DELETE FROM clients WHERE id = ? AND managed_by <> 'file' RETURNING id`);
	const grantsRevoke = db.prepare<[number, string]>(`UPDATE grants SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL`);
	const remove = db.transaction((id: string, at: number) => {
		if (!written(clientDelete.all(id))) return undefined;
		bumpVersion.run();
		return { revokedGrants: grantsRevoke.run(at, id).changes };
	});
	const deleteClient: Store['deleteClient'] = async (id, at) => remove.immediate(id, at);

	const fileClientUpdate = db.prepare<[ClientColumns & ClientChange], StoredClientColumns>(
		`UPDATE clients SET name = :name, type = :type, secret_sha256 = :secret_sha256, settings = :settings,
			disabled_at = NULL, updated_at = :at, updated_by = :by
		 WHERE id = :id AND managed_by = 'file'`
	);
	const fileClientDisable = db.prepare<[{ id: string } & ClientChange]>(
		`UPDATE clients SET disabled_at = :at, updated_at = :at, updated_by = :by WHERE id = :id AND managed_by = 'file'`
	);
	const declare = db.transaction((declared: Client[], at: number) => {
		const plan = planDeclaration(everyClient.all(), declared);
		const change = { at, by: 'file' };
		for (const client of plan.create) insert.all({ ...clientColumns(client), managedBy: 'file', ...change });
		for (const client of plan.update) fileClientUpdate.run({ ...clientColumns(client), ...change });
		for (const id of plan.disable) fileClientDisable.run({ id, ...change });
		if (plan.create.length + plan.update.length + plan.disable.length > 0) bumpVersion.run();
		return { created: plan.create.map((client) => client.id), updated: plan.update.map((client) => client.id), disabled: plan.disable, skipped: plan.skipped };
	});
	const declareClients: Store['declareClients'] = async (declared, at) => declare.immediate(declared, at);

	return {
		listClients,
		findClient,
		clientsVersion,
		declareClients,
		createClient,
		updateClient,
		disableClient,
		enableClient,
		setClientSecret,
		deleteClient
	};
}
