import Sqlite from 'better-sqlite3';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { context, testServices } from '../../../../../tests/support/test-services';
import { DEMO_CLIENT } from '../../core/clients';
import { createDeviceAuthorization } from '../../oauth/device-authorizations';
import { pollDeviceCode } from '../../oauth/device-grant';
import { backupSqliteFile, openSqliteStore } from './sqlite-store';

let folder: string;
beforeEach(() => {
	folder = mkdtempSync(join(tmpdir(), 'doorcode-sqlite-'));
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

const modeOf = (file: string) => statSync(file).mode & 0o777;

it('the database file, its WAL and its shared memory are readable by their owner alone, whatever the umask', async () => {
	const path = join(folder, 'data', 'doorcode.db');
	const umask = process.umask(0o022);
	try {
		const { store } = await openSqliteStore(path);
		await store.insertAudit({ actor: null, action: 'test.write' }, 0);
		expect([modeOf(path), modeOf(`${path}-wal`), modeOf(`${path}-shm`), modeOf(join(folder, 'data'))]).toEqual([0o600, 0o600, 0o600, 0o700]);
		await store.close();
	} finally {
		process.umask(umask);
	}
});

it("a database file made readable by others earlier is made its owner's alone when opened", async () => {
	const path = join(folder, 'doorcode.db');
	writeFileSync(path, '');
	chmodSync(path, 0o644);
	const { store } = await openSqliteStore(path);
	expect(modeOf(path)).toBe(0o600);
	await store.close();
});

it("a backup taken while the server writes is a consistent copy, its owner's alone whatever the umask, and never overwrites a file", async () => {
	const path = join(folder, 'doorcode.db');
	const database = await openSqliteStore(path);
	await database.store.insertAudit({ actor: null, action: 'test.before-backup' }, 0);
	const copy = join(folder, 'copy.db');
	const umask = process.umask(0o022);
	try {
		await backupSqliteFile(path, copy);
	} finally {
		process.umask(umask);
	}
	expect(modeOf(copy)).toBe(0o600);
	const copied = new Sqlite(copy, { readonly: true });
	expect(copied.prepare('SELECT action FROM audit_log').all()).toEqual([{ action: 'test.before-backup' }]);
	copied.close();

	const taken = join(folder, 'taken.db');
	writeFileSync(taken, 'not mine to overwrite');
	await expect(backupSqliteFile(path, taken)).rejects.toThrow(/EEXIST/);
	expect(readFileSync(taken, 'utf8')).toBe('not mine to overwrite');
	await database.store.close();
});

it('a backup of a file by path reads it without migrating it, and leaves no copy when it fails', async () => {
	const path = join(folder, 'doorcode.db');
	await (await openSqliteStore(path)).store.close();
	// As if an older build had made the file: its last migration not applied yet.
	const older = new Sqlite(path);
	older.prepare('DELETE FROM schema_migrations WHERE name = (SELECT max(name) FROM schema_migrations)').run();
	const applied = older.prepare('SELECT count(*) AS n FROM schema_migrations').get();
	older.close();

	const copy = join(folder, 'copy.db');
	await backupSqliteFile(path, copy);
	for (const file of [path, copy]) {
		const db = new Sqlite(file, { readonly: true });
		expect(db.prepare('SELECT count(*) AS n FROM schema_migrations').get(), file).toEqual(applied);
		db.close();
	}

	const nowhere = join(folder, 'no-such-folder', 'copy.db');
	await expect(backupSqliteFile(path, nowhere)).rejects.toThrow();
	writeFileSync(join(folder, 'notes.txt'), 'these are notes, not a database\n'.repeat(200));
	await expect(backupSqliteFile(join(folder, 'notes.txt'), join(folder, 'notes-copy.db'))).rejects.toThrow();
	expect(existsSync(join(folder, 'notes-copy.db'))).toBe(false);
});

it('the write-ahead log stays small under polls alone (each poll lets SQLite checkpoint)', async () => {
	const services = await testServices();
	try {
		const created = (await createDeviceAuthorization(services, DEMO_CLIENT, undefined, null, context(0))).body as { device_code: string };
		// A waiting poll writes nothing, a slowed-down one a page: 5,000 polls must leave the WAL small.
		for (let i = 0; i < 5_000; i++) await pollDeviceCode(services, DEMO_CLIENT, created.device_code, null, context(i * 10_000));
		expect(statSync(`${services.databasePath}-wal`).size).toBeLessThan(8 * 1024 * 1024);
	} finally {
		await services.dispose();
	}
});
