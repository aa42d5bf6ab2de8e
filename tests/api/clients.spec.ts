import { expect, test, type Browser } from '@playwright/test';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { DEVICE_GRANT, sleep } from '../support/oauth.ts';
import { signInAndDecide } from '../support/pages.ts';
import { startCluster, type Cluster } from '../support/instances.ts';
import { startServer, type SpawnedServer } from '../support/spawned-server.ts';

/**
 * SPEC "Clients at run time", against the build: three instances that started together on
 * one PostgreSQL declared CLIENTS_FILE once, and a client the operator's command adds,
 * disables or gives a new secret reaches every instance within 2 seconds; on SQLite the
 * same while a server runs on the file.
 */

test.describe.configure({ mode: 'serial', timeout: 120_000 });

let cluster: Cluster;
let sqlite: SpawnedServer;

test.beforeAll(async () => {
	[cluster, sqlite] = await Promise.all([startCluster('clients', 3, { RATE_LIMIT_TOKEN: '100000/60' }), startServer('clients-sqlite')]);
});
test.afterAll(async () => {
	await Promise.all([cluster?.stop(), sqlite?.kill()]);
});

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `npm run doorcode -- clients …` as built, on a database; resolves when it has exited. */
function doorcode(database: Record<string, string>, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
	const child = spawn(process.execPath, ['dist/operator/doorcode.js', 'clients', ...args], {
		cwd: ROOT,
		env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', DEV_IDP: '1', ...database },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', (chunk) => (stdout += chunk));
	child.stderr.on('data', (chunk) => (stderr += chunk));
	return new Promise((resolve) => child.on('exit', (status) => resolve({ status, stdout, stderr })));
}
const onCluster = () => ({ DATABASE_URL: cluster.databaseUrl });

async function post(base: string, path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
	const response = await fetch(`${base}${path}`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
		body: new URLSearchParams(fields)
	});
	return { status: response.status, body: await response.json() };
}
const basic = (id: string, secret: string) => ({ Authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });

/** Milliseconds until `check` holds on every one of `bases`, asked every 100 ms for at most 5 s. */
async function untilEverywhere(bases: string[], check: (base: string) => Promise<boolean>): Promise<number> {
	const started = Date.now();
	for (const base of bases) {
		while (!(await check(base))) {
			if (Date.now() - started > 5_000) throw new Error(`not on ${base} within 5 seconds`);
			await sleep(100);
		}
	}
	return Date.now() - started;
}
const instances = () => [0, 1, 2].map((i) => cluster.at(i));

async function loginThroughBalancer(browser: Browser, clientId: string) {
	const code = (await post(cluster.origin, '/oauth/device_authorization', { client_id: clientId })).body;
	const context = await browser.newContext({ baseURL: cluster.origin });
	await signInAndDecide(await context.newPage(), code.user_code);
	await context.close();
	await sleep(1100);
	const tokens = await post(cluster.origin, '/oauth/token', { grant_type: DEVICE_GRANT, device_code: code.device_code, client_id: clientId });
	expect(tokens.status).toBe(200);
	return tokens.body as { access_token: string; refresh_token: string };
}

test('three instances starting together on one PostgreSQL declared CLIENTS_FILE once: each client made once, by the file', async () => {
	const db = new pg.Client({ connectionString: cluster.databaseUrl });
	await db.connect();
	const clients = await db.query(`SELECT id, managed_by, disabled_at, updated_by FROM clients ORDER BY id`);
	const created = await db.query(`SELECT client_id, count(*)::int AS n FROM audit_log WHERE action = 'client.created' GROUP BY client_id ORDER BY client_id`);
	await db.end();
	const ids = ['acme-api', 'demo-cli', 'dpop-cli', 'jwt-cli', 'lab-cli', 'narrow-cli', 'oidc-cli', 'strict-cli'];
	expect(clients.rows).toEqual(ids.map((id) => ({ id, managed_by: 'file', disabled_at: null, updated_by: 'file' })));
	expect(created.rows).toEqual(ids.map((id) => ({ client_id: id, n: 1 })));
	for (const instance of cluster.instances) expect(instance.logs()).not.toMatch(/duplicate key|deadlock|reloading the clients failed/);
});

test('a client the operator adds serves a device login on every instance within 2 seconds', async ({ browser }) => {
	const refused = await post(cluster.at(1), '/oauth/device_authorization', { client_id: 'runtime-cli' });
	expect(refused).toEqual({ status: 401, body: { error: 'invalid_client', error_description: 'Unknown or disabled client.' } });
	const added = await doorcode(onCluster(), 'add', 'runtime-cli', '--name', 'Runtime CLI', '--scopes', 'read');
	expect(added).toMatchObject({ status: 0, stdout: 'created runtime-cli (public, managed by admin)\n' });
	const ms = await untilEverywhere(instances(), async (base) => (await post(base, '/oauth/device_authorization', { client_id: 'runtime-cli' })).status === 200);
	expect(ms).toBeLessThan(2_000);
	const tokens = await loginThroughBalancer(browser, 'runtime-cli');
	const userinfo = await fetch(`${cluster.at(2)}/oauth/userinfo`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
	expect(await userinfo.json()).toMatchObject({ client_id: 'runtime-cli', scope: 'read' });
});

test("a disabled client's next poll, refresh and userinfo are refused on every instance within 2 seconds", async ({ browser }) => {
	await doorcode(onCluster(), 'add', 'doomed-cli', '--name', 'Doomed CLI', '--scopes', 'read');
	await untilEverywhere(instances(), async (base) => (await post(base, '/oauth/device_authorization', { client_id: 'doomed-cli' })).status === 200);
	const tokens = await loginThroughBalancer(browser, 'doomed-cli');
	const waiting = (await post(cluster.origin, '/oauth/device_authorization', { client_id: 'doomed-cli' })).body;

	expect(await doorcode(onCluster(), 'disable', 'doomed-cli')).toMatchObject({ status: 0 });
	const refused = { status: 401, body: { error: 'invalid_client', error_description: 'Unknown or disabled client.' } };
	const ms = await untilEverywhere(instances(), async (base) => {
		const poll = await post(base, '/oauth/token', { grant_type: DEVICE_GRANT, device_code: waiting.device_code, client_id: 'doomed-cli' });
		return poll.status === 401;
	});
	expect(ms).toBeLessThan(2_000);
	for (const base of instances()) {
		expect(await post(base, '/oauth/token', { grant_type: DEVICE_GRANT, device_code: waiting.device_code, client_id: 'doomed-cli' })).toEqual(refused);
		expect(await post(base, '/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'doomed-cli' })).toEqual(refused);
		const userinfo = await fetch(`${base}/oauth/userinfo`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
		expect(userinfo.status).toBe(401);
		expect(await userinfo.json()).toMatchObject({ error: 'invalid_token' });
	}
});

test('a rotated secret is refused on every instance within 2 seconds, and the new one works there', async () => {
	const added = await doorcode(onCluster(), 'add', 'rotating-api', '--name', 'Rotating API', '--type', 'confidential', '--scopes', 'read');
	const first = /client_secret: (\S+)/.exec(added.stdout)![1];
	const ask = (base: string, secret: string) => post(base, '/oauth/device_authorization', {}, basic('rotating-api', secret));
	await untilEverywhere(instances(), async (base) => (await ask(base, first)).status === 200);

	const rotated = await doorcode(onCluster(), 'rotate-secret', 'rotating-api');
	expect(rotated.status).toBe(0);
	const next = /client_secret: (\S+)/.exec(rotated.stdout)![1];
	const ms = await untilEverywhere(instances(), async (base) => (await ask(base, first)).status === 401);
	expect(ms).toBeLessThan(2_000);
	for (const base of instances()) {
		expect((await ask(base, first)).body).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed.' });
		expect((await ask(base, next)).status).toBe(200);
	}
});

test('a client CLIENTS_FILE manages cannot be changed from the command, only listed', async () => {
	expect(await doorcode(onCluster(), 'disable', 'demo-cli')).toMatchObject({
		status: 1,
		stderr: 'doorcode: clients: "demo-cli" is managed by CLIENTS_FILE: change it there, then restart\n'
	});
	expect((await doorcode(onCluster(), 'list', '--search', 'demo')).stdout).toContain('demo-cli  public  file        enabled  Demo CLI  read write');
});

test('on SQLite, a client the operator adds while the server runs serves codes within 2 seconds; removed, it is refused', async () => {
	const database = { DATABASE_PATH: sqlite.databasePath };
	expect((await doorcode(database, 'add', 'sqlite-cli', '--name', 'SQLite CLI', '--poll-interval', '3')).status).toBe(0);
	const ms = await untilEverywhere(
		[sqlite.origin],
		async (base) => (await post(base, '/oauth/device_authorization', { client_id: 'sqlite-cli' })).status === 200
	);
	expect(ms).toBeLessThan(2_000);
	expect((await post(sqlite.origin, '/oauth/device_authorization', { client_id: 'sqlite-cli' })).body).toMatchObject({ interval: 3 });
	expect(await doorcode(database, 'remove', 'sqlite-cli')).toMatchObject({ status: 0, stdout: 'removed sqlite-cli; 0 grants revoked\n' });
	await untilEverywhere([sqlite.origin], async (base) => (await post(base, '/oauth/device_authorization', { client_id: 'sqlite-cli' })).status === 401);
});
