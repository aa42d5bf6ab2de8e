import { recordAudit } from '../core/audit';
import { parseClient, unknownClientKeys, type Client, type ClientManager } from '../core/clients';
import { generateSecret, sha256Hex } from '../core/crypto';
import type { Services } from '../core/services';
import type { StoredClient } from '../store/store';

/**
 * The clients at run time: CLIENTS_FILE applied at start-up, and every change the operator's
 * command, the admin pages and registration make — each through the one parse of
 * core/clients.ts, each audited with who made it, each seen by this instance at once (its
 * cache refreshed) and by every other within 2 seconds (client-cache.ts). A client the file
 * manages changes only with the file.
 */

/** Recognisable, like the tokens' prefixes, so a leaked secret is easy to spot. */
export const CLIENT_SECRET_PREFIX = 'dcs_';

/** Who changes a client ("operator", an admin's sub, "registration") and from where, for the client and the audit log. */
export interface ClientEditor {
	actor: string;
	ip: string | null;
}

export type ClientRefusal = {
	ok: false;
	reason: 'invalid' | 'id_taken' | 'not_found' | 'managed_by_file' | 'public';
	message: string;
};

/** A change made; `secret` is a new client secret, to be shown once and never again (only its hash is kept). */
export type ClientChangeResult = { ok: true; client: StoredClient; secret: string | null } | ClientRefusal;

/**
 * CLIENTS_FILE (without it, the demo client) applied at start-up: its clients created or
 * updated, the file's clients it no longer names disabled. What changed is audited; the lines
 * returned are warnings for the log (ids the file names that an admin or registration manages).
 */
export async function declareClientsFile(services: Services, now: number): Promise<string[]> {
	const declared = await services.store.declareClients(services.config.clients, now);
	const changes: [string[], string, string][] = [
		[declared.created, 'client.created', 'declared in CLIENTS_FILE'],
		[declared.updated, 'client.updated', 'changed in CLIENTS_FILE'],
		[declared.disabled, 'client.disabled', 'no longer in CLIENTS_FILE']
	];
	for (const [ids, action, detail] of changes) for (const clientId of ids) await recordAudit(services, { actor: 'file', action, clientId, detail }, now);
	await services.clients.refresh();
	return declared.skipped.map(
		(id) => `CLIENTS_FILE: client "${id}" was made by an admin or by registration, so the file's entry is ignored; rename one of them`
	);
}

/** Every client whose id or name holds `search`, disabled ones and the file's too. */
export function listClients({ store }: Services, search: string): Promise<StoredClient[]> {
	// Control characters match no client (and PostgreSQL refuses a NUL in text): dropped.
	return store.listClients(
		search
			.replace(/\p{Cc}/gu, '')
			.trim()
			.slice(0, 100)
	);
}

/**
 * A new client from its declaration (SPEC's names, as in CLIENTS_FILE). A confidential client
 * without secret_sha256 gets a new secret, returned once.
 */
export async function addClient(
	services: Services,
	editor: ClientEditor,
	declaration: Record<string, unknown>,
	managedBy: Exclude<ClientManager, 'file'>,
	now: number
): Promise<ClientChangeResult> {
	const unknown = unknownClientKeys(declaration);
	if (unknown.length) return refuse('invalid', `unknown ${unknown.length === 1 ? 'setting' : 'settings'} ${unknown.join(', ')}`);
	const secret = declaration.type === 'confidential' && declaration.secret_sha256 === undefined ? newSecret() : null;
	const client = parseClient(secret ? { ...declaration, secret_sha256: sha256Hex(secret) } : declaration);
	if (typeof client === 'string') return refuse('invalid', client);
	const created = await services.store.createClient(client, managedBy, { by: editor.actor, at: now });
	if (created === 'id_taken') return refuse('id_taken', `a client "${client.id}" exists already`);
	await changed(services, editor, 'client.created', client.id, describePolicy(client), now);
	return { ok: true, client: created, secret };
}

/**
 * Replaces every setting of a client from its declaration (the admin pages, registration's
 * update). A confidential client keeps its secret unless the declaration names another; one
 * that was public gets a new secret, returned once.
 */
export async function changeClient(services: Services, editor: ClientEditor, declaration: Record<string, unknown>, now: number): Promise<ClientChangeResult> {
	const unknown = unknownClientKeys(declaration);
	if (unknown.length) return refuse('invalid', `unknown ${unknown.length === 1 ? 'setting' : 'settings'} ${unknown.join(', ')}`);
	if (typeof declaration.id !== 'string') return refuse('invalid', 'name the client to change by its id');
	const current = await editable(services, declaration.id);
	if (!current.ok) return current;
	const { client: stored } = current;
	const keepsSecret = declaration.type === 'confidential' && declaration.secret_sha256 === undefined;
	const secret = keepsSecret && stored.type === 'public' ? newSecret() : null;
	const secretSha256 = secret ? sha256Hex(secret) : keepsSecret ? stored.secretSha256 : declaration.secret_sha256;
	const client = parseClient({ ...declaration, secret_sha256: secretSha256 });
	if (typeof client === 'string') return refuse('invalid', client);
	const updated = await services.store.updateClient(client, { by: editor.actor, at: now });
	if (!updated) return refuse('not_found', `there is no client "${client.id}" any more`);
	await changed(services, editor, 'client.updated', client.id, describePolicy(client), now);
	return { ok: true, client: updated, secret };
}

/** A disabled client gets invalid_client everywhere and its tokens stop working, until it is enabled again. */
export async function disableClient(services: Services, editor: ClientEditor, id: string, now: number): Promise<ClientChangeResult> {
	const current = await editable(services, id);
	if (!current.ok || current.client.disabledAt !== null) return current;
	const disabled = await services.store.disableClient(id, { by: editor.actor, at: now });
	if (!disabled) return refuse('not_found', `there is no client "${id}" any more`);
	await changed(services, editor, 'client.disabled', id, null, now);
	return { ok: true, client: disabled, secret: null };
}

export async function enableClient(services: Services, editor: ClientEditor, id: string, now: number): Promise<ClientChangeResult> {
	const current = await editable(services, id);
	if (!current.ok || current.client.disabledAt === null) return current;
	const enabled = await services.store.enableClient(id, { by: editor.actor, at: now });
	if (!enabled) return refuse('not_found', `there is no client "${id}" any more`);
	await changed(services, editor, 'client.enabled', id, null, now);
	return { ok: true, client: enabled, secret: null };
}

/** A confidential client's new secret, returned once; the old one is refused at once here and within 2 s everywhere. */
export async function rotateClientSecret(services: Services, editor: ClientEditor, id: string, now: number): Promise<ClientChangeResult> {
	const current = await editable(services, id);
	if (!current.ok) return current;
	if (current.client.type === 'public') return refuse('public', `"${id}" is a public client: it has no secret`);
	const secret = newSecret();
	const rotated = await services.store.setClientSecret(id, sha256Hex(secret), { by: editor.actor, at: now });
	if (!rotated) return refuse('not_found', `there is no client "${id}" any more`);
	await changed(services, editor, 'client.secret_rotated', id, null, now);
	return { ok: true, client: rotated, secret };
}

/** Deletes a client and revokes its grants (its tokens stop working); says how many grants it ended. */
export async function removeClient(
	services: Services,
	editor: ClientEditor,
	id: string,
	now: number
): Promise<{ ok: true; revokedGrants: number } | ClientRefusal> {
	const current = await editable(services, id);
	if (!current.ok) return current;
	const removed = await services.store.deleteClient(id, now);
	if (!removed) return refuse('not_found', `there is no client "${id}" any more`);
	const grants = `${removed.revokedGrants} ${removed.revokedGrants === 1 ? 'grant' : 'grants'} revoked`;
	await changed(services, editor, 'client.deleted', id, grants, now);
	return { ok: true, revokedGrants: removed.revokedGrants };
}

/** The client, when it exists and the file does not manage it. */
async function editable(services: Services, id: string): Promise<{ ok: true; client: StoredClient; secret: null } | ClientRefusal> {
	const client = await services.store.findClient(id);
	if (!client) return refuse('not_found', `there is no client "${id}"`);
	if (client.managedBy === 'file') return refuse('managed_by_file', `"${id}" is managed by CLIENTS_FILE: change it there, then restart`);
	return { ok: true, client, secret: null };
}

/** A change is audited, and this instance's cache follows it at once. */
async function changed(services: Services, editor: ClientEditor, action: string, clientId: string, detail: string | null, now: number) {
	await recordAudit(services, { actor: editor.actor, action, clientId, ip: editor.ip, detail }, now);
	await services.clients.refresh();
}

/** What the audit log says of a client's settings: never its secret, nor its hash. */
function describePolicy(client: Client): string {
	return `${client.type}; scopes "${client.scopes.join(' ')}"`;
}

function newSecret(): string {
	return generateSecret(CLIENT_SECRET_PREFIX);
}

function refuse(reason: ClientRefusal['reason'], message: string): ClientRefusal {
	return { ok: false, reason, message };
}
