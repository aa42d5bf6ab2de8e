import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../../../tests/support/postgres.ts';
import { sha256Hex } from '../core/crypto';
import { openSqliteStore } from '../store/sqlite/sqlite-store';
import { runOperatorCommand } from './operator';

let folder: string;
let env: Record<string, string>;
beforeEach(() => {
	folder = mkdtempSync(join(tmpdir(), 'doorcode-operator-'));
	env = { DATABASE_PATH: join(folder, 'doorcode.db'), ORCID_CLIENT_ID: 'APP-OPERATOR', ORCID_CLIENT_SECRET: 'orcid-client-secret-value' };
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

async function run(args: string[], stdin = '') {
	const out: string[] = [];
	const err: string[] = [];
	const status = await runOperatorCommand(args, env, { out: (line) => out.push(line), err: (line) => err.push(line) }, async () => stdin);
	return { status, out: out.join('\n'), err: err.join('\n') };
}

describe('the operator command', () => {
	it('--help says every command; no command or an unknown one is a usage error (2)', async () => {
		const help = await run(['--help']);
		expect(help.status).toBe(0);
		for (const command of ['check-config', 'hash-secret', 'backup <file>', 'migrate', 'sweep']) expect(help.out).toContain(command);
		expect((await run([])).status).toBe(2);
		expect(await run(['frobnicate'])).toMatchObject({ status: 2, err: expect.stringMatching(/^doorcode: unknown command "frobnicate"/) });
	});

	it('hash-secret prints the secret_sha256 of what standard input holds, without its last newline', async () => {
		expect(await run(['hash-secret'], 'a-long-client-secret-for-acme\n')).toEqual({ status: 0, out: sha256Hex('a-long-client-secret-for-acme'), err: '' });
		expect((await run(['hash-secret'], '')).status).toBe(1);
	});

	it('check-config prints what the server would run with, secrets only as set or not, and fails naming a bad variable', async () => {
		env = {
			...env,
			METRICS_TOKEN: 'metrics-token-value-of-24-characters',
			KEY_ENCRYPTION_SECRET: 'key-encryption-secret-value-32-characters',
			ADMIN_SUBJECTS: 'orcid:0000-0001-5109-3700'
		};
		const checked = await run(['check-config']);
		expect(checked.status).toBe(0);
		expect(checked.out).toContain(`database: SQLite at ${join(folder, 'doorcode.db')}`);
		expect(checked.out).toContain('ORCID at https://orcid.org (client APP-OPERATOR, secret set)');
		expect(checked.out).toContain('KEY_ENCRYPTION_SECRET set');
		for (const secret of ['orcid-client-secret-value', 'metrics-token-value-of-24-characters', 'key-encryption-secret-value'])
			expect(checked.out + checked.err).not.toContain(secret);

		const providersFile = join(folder, 'providers.json');
		writeFileSync(
			providersFile,
			JSON.stringify({
				providers: [
					{
						id: 'acme',
						kind: 'oidc',
						name: 'Acme SSO',
						issuer: 'https://sso.acme.example',
						client_id: 'doorcode',
						client_secret: 'acme-file-secret',
						groups_claim: 'groups'
					},
					{ id: 'github', kind: 'github', name: 'GitHub', client_id: 'Iv1.abc', client_secret_env: 'GITHUB_CLIENT_SECRET' }
				]
			})
		);
		env = { ...env, PROVIDERS_FILE: providersFile, GITHUB_CLIENT_SECRET: 'github-env-secret' };
		const withFile = await run(['check-config']);
		expect(withFile.out).toContain(
			'sign-in: ORCID at https://orcid.org (client APP-OPERATOR, secret set); Acme SSO (acme: OpenID issuer https://sso.acme.example, client doorcode, groups from groups, secret set); GitHub (github: GitHub at https://github.com, API https://api.github.com, client Iv1.abc, secret set)'
		);
		for (const secret of ['acme-file-secret', 'github-env-secret']) expect(withFile.out + withFile.err).not.toContain(secret);

		env = { ...env, DATABASE_URL: 'postgres://doorcode:database-password@db.internal:5432/doorcode' };
		expect((await run(['check-config'])).out).toContain('database: PostgreSQL at db.internal:5432/doorcode');
		expect((await run(['check-config'])).out).not.toContain('database-password');

		env = { ...env, POLL_INTERVAL: 'soon' };
		expect(await run(['check-config'])).toMatchObject({ status: 1, err: 'doorcode: POLL_INTERVAL: must be a whole number from 1 to 300 (got "soon")' });
	});

	it('migrate makes the database; backup copies it consistently and never overwrites; sweep runs once', async () => {
		expect(await run(['migrate'])).toMatchObject({ status: 0, out: `migrations applied: SQLite at ${join(folder, 'doorcode.db')} is current` });
		const copy = join(folder, 'copy.db');
		expect(await run(['backup', copy])).toMatchObject({ status: 0, out: `backed up ${join(folder, 'doorcode.db')} to ${copy}` });
		const db = new Database(copy, { readonly: true });
		// Every migration, the copy as current as the original.
		const migrations = readdirSync(join(import.meta.dirname, '..', 'store', 'sqlite', 'migrations')).length;
		expect(db.prepare('SELECT count(*) AS n FROM schema_migrations').get()).toEqual({ n: migrations });
		expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
		db.close();
		expect((await run(['backup', copy])).status).toBe(1);
		expect((await run(['backup'])).status).toBe(2);
		// The database, its WAL and the backup hold the signing keys: their owner's alone, whatever the umask.
		for (const file of [join(folder, 'doorcode.db'), copy]) expect(statSync(file).mode & 0o777, file).toBe(0o600);
		expect(await run(['sweep'])).toMatchObject({
			status: 0,
			out: 'swept: 0 device authorizations, 0 authorization codes, 0 tokens, 0 sessions, 0 address blocks, 0 DPoP proofs'
		});
	});

	it('on PostgreSQL, migrate applies the migrations and backup says to use pg_dump', async () => {
		env = { ...env, DATABASE_URL: await createDatabase(inject('postgresUrl'), 'operator') };
		expect((await run(['migrate'])).status).toBe(0);
		expect(await run(['backup', join(folder, 'x.db')])).toMatchObject({ status: 1, err: expect.stringContaining('pg_dump') });
	});
});

describe('the operator command: clients', () => {
	const clients = (...args: string[]) => run(['clients', ...args]);
	const storedRows = () => {
		const db = new Database(env.DATABASE_PATH, { readonly: true });
		try {
			return {
				clients: db.prepare('SELECT id, secret_sha256, managed_by, disabled_at, updated_by FROM clients ORDER BY id').all(),
				audit: db
					.prepare<[], { actor: string; action: string; client_id: string; detail: string | null }>(
						'SELECT actor, action, client_id, detail FROM audit_log ORDER BY id'
					)
					.all()
			};
		} finally {
			db.close();
		}
	};

	it('clients --help lists every command; none, an unknown one or a bad flag is a usage error (2)', async () => {
		const help = await clients('--help');
		expect(help.status).toBe(0);
		for (const command of ['list', 'add <id>', 'disable <id>', 'enable <id>', 'rotate-secret <id>', 'remove <id>']) expect(help.out).toContain(command);
		expect((await clients()).status).toBe(2);
		expect(await clients('frobnicate')).toMatchObject({ status: 2, err: expect.stringMatching(/^doorcode: clients: unknown command "frobnicate"/) });
		expect(await clients('add', 'x', '--colour', 'red')).toMatchObject({ status: 2, err: expect.stringContaining("Unknown option '--colour'") });
		expect(await clients('disable')).toMatchObject({ status: 2, err: expect.stringMatching(/^doorcode: clients: disable takes one client id/) });
	});

	it('add makes a client from flags, as CLIENTS_FILE names its settings; list shows it; a bad setting is a usage error, a taken id a failure', async () => {
		const added = await clients('add', 'acme-cli', '--name', 'Acme CLI', '--scopes', 'read,write', '--poll-interval', '2', '--address-mismatch', 'refuse');
		expect(added).toEqual({ status: 0, out: 'created acme-cli (public, managed by admin)', err: '' });
		const listed = await clients('list');
		expect(listed.status).toBe(0);
		expect(listed.out.split('\n')).toEqual([
			'id        type    managed by  state    name      scopes',
			'acme-cli  public  admin       enabled  Acme CLI  read write'
		]);
		expect(await clients('add', 'bad-cli', '--name', 'Bad', '--poll-interval', 'soon')).toEqual({
			status: 2,
			out: '',
			err: 'doorcode: clients: poll_interval must be a whole number of seconds from 1 to 300'
		});
		expect(await clients('add', 'acme-cli', '--name', 'Again')).toEqual({ status: 1, out: '', err: 'doorcode: clients: a client "acme-cli" exists already' });
		expect(storedRows().audit).toEqual([{ actor: 'operator', action: 'client.created', client_id: 'acme-cli', detail: 'public; scopes "read write"' }]);
	});

	it('a confidential client’s secret is printed once and stored only as its hash; rotate-secret prints the next; a public one has none', async () => {
		const added = await clients('add', 'acme-api', '--name', 'Acme API', '--type', 'confidential');
		expect(added.status).toBe(0);
		const [line, secretLine] = added.out.split('\n');
		expect(line).toBe('created acme-api (confidential, managed by admin)');
		const secret = /^client_secret: (dcs_[A-Za-z0-9_-]{43})$/.exec(secretLine)![1];
		expect(added.err).toBe('doorcode: the client secret is shown this once: keep it now; doorcode stores only its hash');
		expect(storedRows().clients).toEqual([
			{ id: 'acme-api', secret_sha256: sha256Hex(secret), managed_by: 'admin', disabled_at: null, updated_by: 'operator' }
		]);

		const rotated = await clients('rotate-secret', 'acme-api');
		expect(rotated.status).toBe(0);
		const next = /client_secret: (dcs_\S+)$/.exec(rotated.out)![1];
		expect(next).not.toBe(secret);
		expect(storedRows().clients).toMatchObject([{ secret_sha256: sha256Hex(next) }]);
		await clients('add', 'acme-cli', '--name', 'Acme CLI');
		expect(await clients('rotate-secret', 'acme-cli')).toEqual({
			status: 1,
			out: '',
			err: 'doorcode: clients: "acme-cli" is a public client: it has no secret'
		});
		expect(JSON.stringify(await clients('list', '--json'))).not.toContain(sha256Hex(next));
	});

	it('disable, enable and remove: each audited as the operator; an unknown client, or one CLIENTS_FILE manages, fails (1) but is listed', async () => {
		await clients('add', 'acme-cli', '--name', 'Acme CLI');
		expect(await clients('disable', 'acme-cli')).toMatchObject({ status: 0, out: 'disabled acme-cli (public, managed by admin, disabled)' });
		expect((await clients('list', '--search', 'ACME')).out).toContain('acme-cli  public  admin       disabled');
		expect(await clients('enable', 'acme-cli')).toMatchObject({ status: 0, out: 'enabled acme-cli (public, managed by admin)' });
		expect(await clients('remove', 'acme-cli')).toMatchObject({ status: 0, out: 'removed acme-cli; 0 grants revoked' });
		expect(storedRows().audit.map((row) => [row.actor, row.action])).toEqual([
			['operator', 'client.created'],
			['operator', 'client.disabled'],
			['operator', 'client.enabled'],
			['operator', 'client.deleted']
		]);
		expect(await clients('disable', 'acme-cli')).toEqual({ status: 1, out: '', err: 'doorcode: clients: there is no client "acme-cli"' });

		const { store } = await openSqliteStore(env.DATABASE_PATH);
		await store.declareClients([{ id: 'file-cli', name: 'File CLI', type: 'public', scopes: [] }], Date.now());
		await store.close();
		for (const command of ['disable', 'enable', 'rotate-secret', 'remove'])
			expect(await clients(command, 'file-cli')).toEqual({
				status: 1,
				out: '',
				err: 'doorcode: clients: "file-cli" is managed by CLIENTS_FILE: change it there, then restart'
			});
		expect((await clients('list')).out).toContain('file-cli  public  file        enabled  File CLI  -');
	});

	it('add --json takes an entry as CLIENTS_FILE writes it, or from standard input; list --json prints every setting by those names', async () => {
		const entry = { id: 'jwt-cli', name: 'JWT CLI', type: 'public', scopes: ['read'], access_token_format: 'jwt', audience: 'https://api.example.org' };
		expect((await clients('add', '--json', JSON.stringify(entry))).status).toBe(0);
		expect((await run(['clients', 'add', '--json', '-'], JSON.stringify({ ...entry, id: 'stdin-cli' }))).status).toBe(0);
		expect(await clients('add', '--json', '[1]')).toMatchObject({
			status: 2,
			err: expect.stringMatching(/^doorcode: clients: the client must be a JSON object/)
		});
		expect(await clients('add', '--json', JSON.stringify({ ...entry, id: 'x', colour: 'red' }))).toMatchObject({
			status: 2,
			err: 'doorcode: clients: unknown setting colour'
		});
		const listed = JSON.parse((await clients('list', '--json')).out);
		expect(listed[0]).toEqual({
			...entry,
			managed_by: 'admin',
			disabled_at: null,
			created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
			updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
			updated_by: 'operator'
		});
		expect(listed.map((client: { id: string }) => client.id)).toEqual(['jwt-cli', 'stdin-cli']);
	});

	it('on PostgreSQL, the same commands change the shared database', async () => {
		env = { ...env, DATABASE_URL: await createDatabase(inject('postgresUrl'), 'operator_clients') };
		expect((await clients('add', 'pg-cli', '--name', 'PG CLI', '--scopes', 'read')).status).toBe(0);
		expect(await clients('disable', 'pg-cli')).toMatchObject({ status: 0, out: 'disabled pg-cli (public, managed by admin, disabled)' });
		expect((await clients('list')).out).toContain('pg-cli  public  admin       disabled  PG CLI  read');
	});
});
