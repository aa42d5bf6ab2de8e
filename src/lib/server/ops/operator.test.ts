import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../../../tests/support/postgres.ts';
import { sha256Hex } from '../core/crypto';
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
		expect(await run(['sweep'])).toMatchObject({ status: 0, out: 'swept: 0 device authorizations, 0 tokens, 0 sessions, 0 address blocks, 0 DPoP proofs' });
	});

	it('on PostgreSQL, migrate applies the migrations and backup says to use pg_dump', async () => {
		env = { ...env, DATABASE_URL: await createDatabase(inject('postgresUrl'), 'operator') };
		expect((await run(['migrate'])).status).toBe(0);
		expect(await run(['backup', join(folder, 'x.db')])).toMatchObject({ status: 1, err: expect.stringContaining('pg_dump') });
	});
});
