import { expect, test } from '@playwright/test';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEVICE_GRANT, sleep } from '../support/oauth.ts';
import { DevicePage, DevIdentityProviderPage, LoginPage, signInAndDecide } from '../support/pages.ts';
import { createDatabase, startPostgres, type PostgresServer } from '../support/postgres.ts';
import { freePort, startServer, type SpawnedServer } from '../support/spawned-server.ts';

/** The rules that matter on PostgreSQL, against a doorcode instance on a real server, and an outage survived. */

test.describe.configure({ mode: 'serial', timeout: 120_000 });

let doorcode: SpawnedServer;
let shortLived: SpawnedServer;

test.beforeAll(async () => {
	const databaseUrl = await createDatabase(process.env.DOORCODE_TEST_DATABASE_URL!, 'api');
	const env = { DATABASE_URL: databaseUrl, RATE_LIMITS: 'on', TRUST_PROXY: '1', RATE_LIMIT_DEVICE_AUTHORIZATION: '5/60', RATE_LIMIT_CODE_ENTRY: '1000/60' };
	[doorcode, shortLived] = await Promise.all([startServer('postgres-api', env), startServer('postgres-short', { ...env, DEVICE_CODE_TTL: '2' })]);
});
test.afterAll(async () => {
	await Promise.all([doorcode?.kill(), shortLived?.kill()]);
});

async function post(base: string, path: string, fields: Record<string, string>, address = '203.0.113.50') {
	const response = await fetch(`${base}${path}`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': address },
		body: new URLSearchParams(fields)
	});
	return { status: response.status, headers: response.headers, body: await response.json() };
}
const newCode = async (base: string, address?: string) => (await post(base, '/oauth/device_authorization', { client_id: 'demo-cli' }, address)).body;
const poll = (base: string, deviceCode: string) => post(base, '/oauth/token', { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: 'demo-cli' });

test('on PostgreSQL, Cancel at the provider reaches the CLI as access_denied on its next poll', async ({ browser }) => {
	const code = await newCode(doorcode.origin);
	const page = await (await browser.newContext({ baseURL: doorcode.origin })).newPage();
	const device = new DevicePage(page);
	await device.open();
	await device.enterCode(code.user_code);
	await new LoginPage(page).signInWith('ORCID');
	await new DevIdentityProviderPage(page).cancel();
	await expect(page).toHaveURL(/\/device\/error\?reason=provider_denied$/);
	expect((await poll(doorcode.origin, code.device_code)).body).toEqual({
		error: 'access_denied',
		error_description: 'The sign-in was cancelled or refused at the identity provider.'
	});
	await page.context().close();
});

test('on PostgreSQL, an expired code answers expired_token', async () => {
	const code = await newCode(shortLived.origin, '203.0.113.51');
	await sleep(2100);
	expect((await poll(shortLived.origin, code.device_code)).body).toEqual({
		error: 'expired_token',
		error_description: 'The device code has expired. Start the login again to get a new code.'
	});
});

test('on PostgreSQL, new codes are limited per address with 429 and Retry-After', async () => {
	for (let i = 0; i < 5; i++) expect((await post(doorcode.origin, '/oauth/device_authorization', { client_id: 'demo-cli' }, '198.51.100.60')).status).toBe(200);
	const refused = await post(doorcode.origin, '/oauth/device_authorization', { client_id: 'demo-cli' }, '198.51.100.60');
	expect(refused.status).toBe(429);
	const retryAfter = Number(refused.headers.get('retry-after'));
	expect(retryAfter).toBeGreaterThan(0);
	expect(refused.body).toEqual({
		error: 'temporarily_unavailable',
		error_description: `Too many new codes from this address. Retry after ${retryAfter} seconds.`
	});
	// The limit is kept in the database: the instance beside it refuses that address too.
	expect((await post(shortLived.origin, '/oauth/device_authorization', { client_id: 'demo-cli' }, '198.51.100.60')).status).toBe(429);
});

test('an outage of PostgreSQL is survived: 503s that say so, no exit, and no committed approval lost', async ({ browser }) => {
	const parent = mkdtempSync(join(tmpdir(), 'doorcode-outage-'));
	chmodSync(parent, 0o755);
	const dataDir = join(parent, 'data');
	const port = await freePort();
	let postgres: PostgresServer = await startPostgres(dataDir, port);
	const instance = await startServer('postgres-outage', { DATABASE_URL: await createDatabase(postgres.url, 'outage'), RATE_LIMITS: 'off' });
	try {
		const code = await newCode(instance.origin);
		const page = await (await browser.newContext({ baseURL: instance.origin })).newPage();
		await signInAndDecide(page, code.user_code);
		await expect(page).toHaveURL(/\/device\/success/);

		await postgres.stop();
		const during = await poll(instance.origin, code.device_code);
		expect(during.status).toBe(503);
		expect(during.headers.get('retry-after')).toBe('5');
		expect(during.body).toEqual({
			error: 'temporarily_unavailable',
			error_description: 'The service cannot reach its database right now. Retry in a few seconds.'
		});
		// A page that needs the database (the signed-in account page, entering a code) says to try again.
		const accountDuring = await page.goto('/account');
		expect(accountDuring?.status()).toBe(503);
		await expect(page.getByRole('heading', { name: 'Try again in a moment' })).toBeVisible();
		const codeDuring = await fetch(`${instance.origin}/device`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Sec-Fetch-Site': 'same-origin' },
			body: 'code=BCDF-GHJK'
		});
		expect(codeDuring.status).toBe(503);
		expect(await codeDuring.text()).toContain('cannot reach its database right now');
		const ready = await fetch(`${instance.origin}/readyz`);
		expect(ready.status).toBe(503);
		expect(await ready.json()).toEqual({ status: 'unavailable', reason: 'the database cannot be reached' });
		expect((await fetch(`${instance.origin}/healthz`)).status).toBe(200);

		postgres = await startPostgres(dataDir, port);
		await expect.poll(async () => (await fetch(`${instance.origin}/readyz`)).status, { timeout: 30_000 }).toBe(200);
		const after = await poll(instance.origin, code.device_code);
		expect(after.status).toBe(200);
		expect(after.body).toMatchObject({ token_type: 'Bearer', sub: 'orcid:0000-0002-1825-0097' });
		expect(instance.logs()).not.toMatch(/exited|uncaught|unhandled/i);
		await page.context().close();
	} finally {
		await instance.kill();
		await postgres.stop();
	}
});
