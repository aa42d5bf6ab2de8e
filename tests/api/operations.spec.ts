import { expect, test } from '@playwright/test';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestCode } from '../support/oauth.ts';
import { SERVERS } from '../support/servers.ts';
import { startServer, type SpawnedServer } from '../support/spawned-server.ts';

/** SPEC "Operations": probes and metrics, as Kubernetes and Prometheus use them. */

const main = SERVERS.main;
let guarded: SpawnedServer;

test.beforeAll(async () => {
	guarded = await startServer('operations', { METRICS_TOKEN: 'prometheus-scrape-token-for-the-tests' });
});
test.afterAll(async () => {
	await guarded?.kill();
});

test('/healthz and /readyz answer as SPEC says, with no session and no request log line', async () => {
	for (let i = 0; i < 5; i++) {
		const health = await fetch(`${guarded.origin}/healthz`);
		expect(health.status).toBe(200);
		expect(await health.json()).toEqual({ status: 'ok' });
		const ready = await fetch(`${guarded.origin}/readyz`);
		expect(ready.status).toBe(200);
		expect(await ready.json()).toEqual({ status: 'ready' });
		expect(ready.headers.get('set-cookie')).toBeNull();
	}
	await new Promise((resolve) => setTimeout(resolve, 200));
	expect(guarded.logs()).not.toMatch(/"route":"\/(healthz|readyz)"/);
});

test('/metrics counts requests by route pattern and the device-flow events, and names no code, token or address', async () => {
	const code = await requestCode(main);
	await fetch(`${main.origin}/oauth/token`, {
		method: 'POST',
		body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: code.device_code, client_id: 'demo-cli' })
	});
	await fetch(`${main.origin}/device?user_code=${code.user_code}`);
	const response = await fetch(`${main.origin}/metrics`);
	expect(response.status).toBe(200);
	expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
	const text = await response.text();
	expect(text).toMatch(/^doorcode_http_requests_total\{method="POST",route="\/oauth\/device_authorization",status="200"\} \d+$/m);
	expect(text).toMatch(/^doorcode_http_requests_total\{method="POST",route="\/oauth\/token",status="400"\} \d+$/m);
	expect(text).toMatch(/^doorcode_http_requests_total\{method="GET",route="\/device",status="200"\} \d+$/m);
	expect(text).toMatch(/^doorcode_http_request_duration_seconds_bucket\{le="0\.005",method="POST",route="\/oauth\/token"\} \d+$/m);
	expect(text).toMatch(/^doorcode_device_flow_events_total\{event="issued"\} \d+$/m);
	expect(text).toMatch(/^doorcode_database_operation_duration_seconds_count \d+$/m);
	expect(text).toMatch(/^doorcode_database_errors_total 0$/m);
	expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
	expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
	for (const secret of [code.device_code, code.user_code, code.user_code.replace('-', ''), '127.0.0.1', 'demo-cli']) expect(text).not.toContain(secret);
});

test('without METRICS_TOKEN, /metrics answers only this machine, also through a trusted proxy', async () => {
	const forwarded = await fetch(`${main.origin}/metrics`, { headers: { 'X-Forwarded-For': '203.0.113.7' } });
	expect(forwarded.status).toBe(401);
	expect(await forwarded.text()).not.toContain('doorcode_');
	// A forwarded hop that is no address names no machine: refused, not taken for this one.
	for (const junk of ['junk', 'unknown', 'localhost', '127.0.0.1.evil']) {
		expect((await fetch(`${main.origin}/metrics`, { headers: { 'X-Forwarded-For': junk } })).status, junk).toBe(401);
	}
	expect((await fetch(`${main.origin}/metrics`, { headers: { 'X-Forwarded-For': '127.0.0.1' } })).status).toBe(200);
});

test('with METRICS_TOKEN, /metrics wants it as a bearer token, even from this machine', async () => {
	expect((await fetch(`${guarded.origin}/metrics`)).status).toBe(401);
	expect((await fetch(`${guarded.origin}/metrics`, { headers: { Authorization: 'Bearer wrong-token' } })).status).toBe(401);
	const scraped = await fetch(`${guarded.origin}/metrics`, { headers: { Authorization: 'Bearer prometheus-scrape-token-for-the-tests' } });
	expect(scraped.status).toBe(200);
	expect(await scraped.text()).toContain('doorcode_http_requests_total');
});

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const doorcode = (args: string[], env: Record<string, string>, input = '') =>
	spawnSync(process.execPath, ['dist/operator/doorcode.js', ...args], {
		cwd: ROOT,
		input,
		encoding: 'utf8',
		timeout: 30_000,
		env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env }
	});

test('the operator command, as built: hash-secret for CLIENTS_FILE, check-config with a status scripts trust, and an online backup', async () => {
	const hashed = doorcode(['hash-secret'], {}, 'a-long-client-secret-for-acme\n');
	expect(hashed.status).toBe(0);
	expect(hashed.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);

	const env = { DATABASE_PATH: guarded.databasePath, DEV_IDP: '1', CLIENTS_FILE: 'tests/fixtures/clients.json' };
	expect(doorcode(['check-config'], env).status).toBe(0);
	expect(doorcode(['check-config'], { ...env, ORIGIN: 'login.example.org' })).toMatchObject({
		status: 1,
		stderr: expect.stringContaining('doorcode: ORIGIN:')
	});

	// The server keeps running and writing while the copy is taken.
	const made = await fetch(`${guarded.origin}/oauth/device_authorization`, { method: 'POST', body: new URLSearchParams({ client_id: 'demo-cli' }) });
	const userCode = ((await made.json()) as { user_code: string }).user_code.replace('-', '');
	const copy = join(mkdtempSync(join(tmpdir(), 'doorcode-backup-')), 'doorcode.db');
	const backedUp = doorcode(['backup', copy], env);
	expect(backedUp.status, backedUp.stderr).toBe(0);
	const db = new Database(copy, { readonly: true });
	expect(db.prepare('SELECT count(*) AS n FROM device_authorizations WHERE user_code = ?').get(userCode)).toEqual({ n: 1 });
	expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
	db.close();
});
