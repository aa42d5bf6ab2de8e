import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openSqliteStore } from './sqlite-store';

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
		const store = openSqliteStore(path);
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
	const store = openSqliteStore(path);
	expect(modeOf(path)).toBe(0o600);
	await store.close();
});
