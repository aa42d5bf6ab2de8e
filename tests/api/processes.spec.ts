import { expect, test } from '@playwright/test';
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/spawned-server.ts';
import { testServerEnv } from '../support/servers.ts';

/** Several doorcode processes on one SQLite file, started at the same moment, as an operator would. */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function answers(origin: string, deadline: number): Promise<boolean> {
	while (Date.now() < deadline) {
		try {
			const response = await fetch(`${origin}/.well-known/oauth-authorization-server`, { signal: AbortSignal.timeout(2_000) });
			await response.arrayBuffer();
			if (response.status === 200) return true;
		} catch {
			// Not listening yet.
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	return false;
}

test('three processes started together on one new database file all come up, none racing the migrations', async () => {
	const databasePath = '.e2e/processes.db';
	mkdirSync(`${ROOT}.e2e`, { recursive: true });
	for (const suffix of ['', '-wal', '-shm']) rmSync(`${ROOT}${databasePath}${suffix}`, { force: true });
	const ports = [await freePort(), await freePort(), await freePort()];
	const outputs = ports.map(() => ({ text: '' }));
	const children: ChildProcess[] = ports.map((port, i) => {
		const child = spawn(process.execPath, ['server.js'], {
			cwd: ROOT,
			env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...testServerEnv('processes', port), DATABASE_PATH: databasePath },
			stdio: ['ignore', 'pipe', 'pipe']
		});
		child.stdout?.on('data', (chunk) => (outputs[i].text += chunk));
		child.stderr?.on('data', (chunk) => (outputs[i].text += chunk));
		return child;
	});
	try {
		const deadline = Date.now() + 30_000;
		const up = await Promise.all(ports.map((port) => answers(`http://localhost:${port}`, deadline)));
		expect(up, outputs.map((o) => o.text).join('\n---\n')).toEqual([true, true, true]);
		for (const output of outputs) expect(output.text).not.toMatch(/SqliteError|already exists|SQLITE_BUSY/);

		const db = new Database(`${ROOT}${databasePath}`, { readonly: true });
		const applied = db.prepare<[], { name: string }>('SELECT name FROM schema_migrations ORDER BY name').all();
		db.close();
		expect(applied.map((row) => row.name)).toEqual(readdirSync(`${ROOT}src/lib/server/store/sqlite/migrations`).sort());
	} finally {
		for (const child of children) child.kill('SIGTERM');
		await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)));
	}
});
