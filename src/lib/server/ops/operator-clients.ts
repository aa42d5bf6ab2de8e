import { parseArgs } from 'node:util';
import { clientDeclaration } from '../core/clients';
import type { Services } from '../core/services';
import { addClient, disableClient, enableClient, listClients, removeClient, rotateClientSecret, type ClientRefusal } from '../oauth/client-registry';
import type { StoredClient } from '../store/store';

/**
 * `npm run doorcode -- clients <command>`: the clients at run time from a shell (the operator's
 * command, operator.ts, runs it on an opened database). Each change is audited with the actor
 * `operator` and reaches every instance within 2 seconds; the clients CLIENTS_FILE manages are
 * only listed here. Exit status 0 done, 1 refused or failed, 2 usage error.
 */

export const CLIENTS_HELP = `usage: npm run doorcode -- clients <command>

commands:
  list [--search TEXT] [--json]     every client: id, type, who manages it, enabled or not, name, scopes
  add <id> --name NAME [settings]   a new client; a confidential one's new secret is printed once
  add --json '{"id": …}'            the same from an entry as CLIENTS_FILE writes it ('-': from standard input)
  disable <id>                      it gets invalid_client everywhere and its tokens stop working
  enable <id>                       it works again
  rotate-secret <id>                a confidential client's new secret, printed once; the old one stops working
  remove <id>                       deletes it and revokes its grants

settings, as CLIENTS_FILE names them (lists space- or comma-separated):
  --type public|confidential  --scopes "read write"  --grant-types "…"  --redirect-uris "…"
  --access-token-format opaque|jwt  --audience URL  --access-token-ttl S  --refresh-token-ttl S
  --device-code-ttl S  --poll-interval S  --address-mismatch warn|refuse

A client CLIENTS_FILE manages changes only there. Changes reach every instance within 2 seconds.`;

/** Each flag of `add` and the setting it gives, by CLIENTS_FILE's name. */
const SETTING_FLAGS: Record<string, { key: string; kind: 'text' | 'list' | 'seconds' }> = {
	name: { key: 'name', kind: 'text' },
	type: { key: 'type', kind: 'text' },
	scopes: { key: 'scopes', kind: 'list' },
	'grant-types': { key: 'grant_types', kind: 'list' },
	'redirect-uris': { key: 'redirect_uris', kind: 'list' },
	'access-token-format': { key: 'access_token_format', kind: 'text' },
	audience: { key: 'audience', kind: 'text' },
	'access-token-ttl': { key: 'access_token_ttl', kind: 'seconds' },
	'refresh-token-ttl': { key: 'refresh_token_ttl', kind: 'seconds' },
	'device-code-ttl': { key: 'device_code_ttl', kind: 'seconds' },
	'poll-interval': { key: 'poll_interval', kind: 'seconds' },
	'address-mismatch': { key: 'address_mismatch', kind: 'text' }
};

type Output = { out: (line: string) => void; err: (line: string) => void };

/** What the operator's command hands the clients' commands. */
export interface ClientsCommand {
	args: string[];
	io: Output;
	stdin: (prompt: string) => Promise<string>;
	/** Runs `work` on the opened database; its status, or 1 when the database fails. */
	withServices: (work: (services: Services) => Promise<number>) => Promise<number>;
}

const OPERATOR = { actor: 'operator', ip: null };

export async function runClientsCommand({ args, io, stdin, withServices }: ClientsCommand): Promise<number> {
	const [command, ...rest] = args;
	const usage = (problem: string) => {
		io.err(`doorcode: clients: ${problem}\n\n${CLIENTS_HELP}`);
		return 2;
	};
	const options = OPTIONS[command ?? ''];
	if (!options) return usage(command ? `unknown command "${command.slice(0, 40)}"` : 'name a command');
	let parsed;
	try {
		parsed = parseArgs({ args: rest, allowPositionals: true, options });
	} catch (error) {
		return usage((error as Error).message);
	}
	const { values, positionals } = parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
	if (command === 'list') {
		if (positionals.length > 0) return usage('list takes no client id');
		return withServices(async (services) => {
			const clients = await listClients(services, String(values.search ?? ''));
			if (values.json) io.out(JSON.stringify(clients.map(listed), null, 2));
			else for (const line of clientTable(clients)) io.out(line);
			return 0;
		});
	}
	if (command === 'add') {
		const declaration = await declarationFrom(values as Record<string, string | undefined>, positionals, stdin);
		if (typeof declaration === 'string') return usage(declaration);
		return withServices(async (services) => {
			const added = await addClient(services, OPERATOR, declaration, 'admin', await services.store.databaseTime());
			if (!added.ok) return refused(io, added);
			io.out(`created ${describe(added.client)}`);
			if (added.secret) printSecret(io, added.secret);
			return 0;
		});
	}
	if (positionals.length !== 1) return usage(`${command} takes one client id`);
	const [id] = positionals;
	return withServices(async (services) => {
		// At the database's time, as the servers decide: the change's moments compare with theirs.
		const done = await CHANGES[command as string](services, id, await services.store.databaseTime());
		if (!done.ok) return refused(io, done);
		io.out(done.line);
		if (done.secret) printSecret(io, done.secret);
		return 0;
	});
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/** The flags each command takes. */
const OPTIONS: Record<string, Options> = {
	list: { search: { type: 'string' }, json: { type: 'boolean' } },
	add: { json: { type: 'string' }, ...Object.fromEntries(Object.keys(SETTING_FLAGS).map((flag) => [flag, { type: 'string' as const }])) },
	disable: {},
	enable: {},
	'rotate-secret': {},
	remove: {}
};

type Change = (services: Services, id: string, now: number) => Promise<{ ok: true; line: string; secret: string | null } | ClientRefusal>;

const CHANGES: Record<string, Change> = {
	disable: async (services, id, now) => {
		const done = await disableClient(services, OPERATOR, id, now);
		return done.ok ? { ok: true, line: `disabled ${describe(done.client)}`, secret: null } : done;
	},
	enable: async (services, id, now) => {
		const done = await enableClient(services, OPERATOR, id, now);
		return done.ok ? { ok: true, line: `enabled ${describe(done.client)}`, secret: null } : done;
	},
	'rotate-secret': async (services, id, now) => {
		const done = await rotateClientSecret(services, OPERATOR, id, now);
		return done.ok ? { ok: true, line: `new secret for ${describe(done.client)}; the old one no longer works`, secret: done.secret } : done;
	},
	remove: async (services, id, now) => {
		const done = await removeClient(services, OPERATOR, id, now);
		return done.ok ? { ok: true, line: `removed ${id}; ${done.revokedGrants} ${done.revokedGrants === 1 ? 'grant' : 'grants'} revoked`, secret: null } : done;
	}
};

/** A new client's declaration from `--json` or from the id and the setting flags. */
async function declarationFrom(
	values: Record<string, string | undefined>,
	positionals: string[],
	stdin: (prompt: string) => Promise<string>
): Promise<Record<string, unknown> | string> {
	if (values.json !== undefined) {
		if (positionals.length > 0 || Object.keys(values).length > 1) return 'add --json takes the whole client, and nothing else';
		const text = values.json === '-' ? await stdin('Type the client as JSON, then press Enter and Ctrl-D:') : values.json;
		let entry: unknown;
		try {
			entry = JSON.parse(text);
		} catch (error) {
			return `the client is not valid JSON (${(error as Error).message})`;
		}
		return typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? (entry as Record<string, unknown>) : 'the client must be a JSON object';
	}
	if (positionals.length !== 1) return 'add takes one client id (or --json)';
	const declaration: Record<string, unknown> = { id: positionals[0], type: 'public', scopes: [] };
	for (const [flag, { key, kind }] of Object.entries(SETTING_FLAGS)) {
		const value = values[flag];
		if (value === undefined) continue;
		if (kind === 'list') declaration[key] = value.split(/[\s,]+/).filter(Boolean);
		// A number when it is one; else the text, which the parse refuses naming the setting.
		else if (kind === 'seconds') declaration[key] = /^\d{1,9}$/.test(value) ? Number(value) : value;
		else declaration[key] = value;
	}
	return declaration;
}

/** A refused change: exit status 2 for settings the parse refused, 1 for the rest. */
function refused(io: Output, refusal: ClientRefusal): number {
	io.err(`doorcode: clients: ${refusal.message}`);
	return refusal.reason === 'invalid' ? 2 : 1;
}

function printSecret(io: Output, secret: string) {
	io.out(`client_secret: ${secret}`);
	io.err('doorcode: the client secret is shown this once: keep it now; doorcode stores only its hash');
}

function describe(client: StoredClient): string {
	return `${client.id} (${client.type}, managed by ${client.managedBy}${client.disabledAt === null ? '' : ', disabled'})`;
}

/** One line a client, in columns. */
function clientTable(clients: StoredClient[]): string[] {
	if (clients.length === 0) return ['no clients'];
	const rows = [
		['id', 'type', 'managed by', 'state', 'name', 'scopes'],
		...clients.map((client) => [
			client.id,
			client.type,
			client.managedBy,
			client.disabledAt === null ? 'enabled' : 'disabled',
			client.name,
			client.scopes.join(' ') || '-'
		])
	];
	const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
	return rows.map((row) =>
		row
			.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
			.join('  ')
			.trimEnd()
	);
}

/** A client as `list --json` prints it: its settings as CLIENTS_FILE names them (never its secret's hash), and who manages it. */
function listed(client: StoredClient) {
	return {
		...clientDeclaration({ ...client, secretSha256: undefined }),
		managed_by: client.managedBy,
		disabled_at: client.disabledAt === null ? null : new Date(client.disabledAt).toISOString(),
		created_at: new Date(client.createdAt).toISOString(),
		updated_at: new Date(client.updatedAt).toISOString(),
		updated_by: client.updatedBy
	};
}
