import { expect, test, type Browser } from '@playwright/test';
import pg from 'pg';
import { DEVICE_GRANT, sleep } from '../support/oauth.ts';
import { ConfirmPage, DevicePage, DevIdentityProviderPage, LoginPage } from '../support/pages.ts';
import { startCluster, type Cluster } from '../support/instances.ts';

/**
 * SPEC "Many instances": three doorcode processes on one PostgreSQL behave as one server,
 * whichever instance each request reaches.
 */

test.describe.configure({ mode: 'serial', timeout: 120_000 });

let cluster: Cluster;

test.beforeAll(async () => {
	cluster = await startCluster('instances', 3, { RATE_LIMIT_CODE_ENTRY: '3/60', RATE_LIMIT_TOKEN: '100000/60' });
});
test.afterAll(async () => {
	await cluster?.stop();
});

async function post(base: string, path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
	const response = await fetch(`${base}${path}`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
		body: new URLSearchParams(fields)
	});
	return { status: response.status, body: await response.json() };
}

const newCode = async (base = cluster.origin) => (await post(base, '/oauth/device_authorization', { client_id: 'demo-cli', scope: 'read' })).body;
const poll = (base: string, deviceCode: string) => post(base, '/oauth/token', { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: 'demo-cli' });

async function approveInBrowser(browser: Browser, userCode: string) {
	const context = await browser.newContext({ baseURL: cluster.origin });
	const page = await context.newPage();
	const device = new DevicePage(page);
	await device.open();
	await device.enterCode(userCode);
	await new LoginPage(page).signInWith('ORCID');
	await new DevIdentityProviderPage(page).signIn('Josiah Carberry');
	const confirm = new ConfirmPage(page);
	await confirm.expectCode(userCode);
	await confirm.approve();
	await expect(page).toHaveURL(/\/device\/success/);
	await expect(page.getByRole('heading', { name: "You're signed in" })).toBeVisible();
	await context.close();
}

test('a browser journey whose every request lands on another instance approves the code', async ({ browser }) => {
	const before = [...cluster.served];
	const code = await newCode();
	await approveInBrowser(browser, code.user_code);
	const during = cluster.served.map((count, i) => count - before[i]);
	// Round robin: every instance served part of the journey (code, sign-in, callback, confirm, approve).
	for (const count of during) expect(count).toBeGreaterThanOrEqual(2);
	await sleep(1100);
	const answer = await poll(cluster.origin, code.device_code);
	expect(answer.status).toBe(200);
	expect(answer.body).toMatchObject({ token_type: 'Bearer', scope: 'read', sub: 'orcid:0000-0002-1825-0097' });
});

test('a code made on one instance, entered on a second, approved on a third, is redeemed exactly once with 40 polls spread over all', async ({ browser }) => {
	const code = await newCode(cluster.at(0));
	await approveInBrowser(browser, code.user_code);
	await sleep(1100);
	const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => poll(cluster.at(i % 3), code.device_code)));
	const issued = answers.filter((answer) => answer.status === 200);
	expect(issued).toHaveLength(1);
	for (const refused of answers.filter((answer) => answer.status !== 200)) {
		expect([
			{ error: 'slow_down', error_description: expect.stringMatching(/^Polling too fast: wait \d+ seconds between requests\.$/) },
			{ error: 'invalid_grant', error_description: 'The device code was already used; the tokens issued from it are now revoked.' }
		]).toContainEqual(refused.body);
	}
	const db = new pg.Client({ connectionString: cluster.databaseUrl });
	await db.connect();
	const grants = await db.query(`SELECT count(*)::int AS n FROM grants g JOIN device_authorizations d ON d.grant_id = g.id WHERE d.user_code = $1`, [
		code.user_code.replace('-', '')
	]);
	await db.end();
	expect(grants.rows).toEqual([{ n: 1 }]);
});

test('a CLI that alternates instances still gets slow_down for polling too fast, and +5 s each time', async () => {
	const code = await newCode();
	expect((await poll(cluster.at(0), code.device_code)).body.error).toBe('authorization_pending');
	expect((await poll(cluster.at(1), code.device_code)).body).toEqual({
		error: 'slow_down',
		error_description: 'Polling too fast: wait 6 seconds between requests.'
	});
	expect((await poll(cluster.at(2), code.device_code)).body).toEqual({
		error: 'slow_down',
		error_description: 'Polling too fast: wait 11 seconds between requests.'
	});
});

test('wrong codes are counted across instances: the limit holds whichever instance each guess reaches', async () => {
	// The code form as a browser posts it, straight to one instance (RATE_LIMIT_CODE_ENTRY=3/60 here).
	const enter = async (instance: number, code: string) =>
		(
			await fetch(`${cluster.at(instance)}/device`, {
				method: 'POST',
				headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Sec-Fetch-Site': 'same-origin', 'X-Forwarded-For': '198.51.100.90' },
				body: new URLSearchParams({ code }),
				redirect: 'manual'
			})
		).status;
	expect(await enter(0, 'BCDF-GHJK')).toBe(400);
	expect(await enter(1, 'BCDF-GHJL')).toBe(400);
	expect(await enter(2, 'BCDF-GHJM')).toBe(429);
	const real = await newCode();
	expect(await enter(0, real.user_code)).toBe(429);
	expect(await enter(1, real.user_code)).toBe(429);
});

test('a revocation on one instance is seen at once by another', async ({ browser }) => {
	const code = await newCode();
	await approveInBrowser(browser, code.user_code);
	await sleep(1100);
	const tokens = (await poll(cluster.origin, code.device_code)).body;
	const userinfo = (base: string) => fetch(`${base}/oauth/userinfo`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
	expect((await userinfo(cluster.at(1))).status).toBe(200);
	expect((await post(cluster.at(0), '/oauth/revoke', { token: tokens.refresh_token, client_id: 'demo-cli' })).status).toBe(200);
	expect((await userinfo(cluster.at(1))).status).toBe(401);
	expect((await userinfo(cluster.at(2))).status).toBe(401);
});

test('a refresh token rotates on one instance; reused on another, it ends the login everywhere', async ({ browser }) => {
	const code = await newCode();
	await approveInBrowser(browser, code.user_code);
	await sleep(1100);
	const tokens = (await poll(cluster.origin, code.device_code)).body;
	const refresh = (base: string, token: string) => post(base, '/oauth/token', { grant_type: 'refresh_token', refresh_token: token, client_id: 'demo-cli' });
	const rotated = await refresh(cluster.at(0), tokens.refresh_token);
	expect(rotated.status).toBe(200);
	expect(await refresh(cluster.at(1), tokens.refresh_token)).toEqual({
		status: 400,
		body: { error: 'invalid_grant', error_description: 'This refresh token was already used, so the login it belongs to is now revoked. Log in again.' }
	});
	expect((await refresh(cluster.at(2), rotated.body.refresh_token)).status).toBe(400);
});

test('every instance is ready, and instances started together on an empty database applied the schema once', async () => {
	for (let i = 0; i < 3; i++) {
		const ready = await fetch(`${cluster.at(i)}/readyz`);
		expect(ready.status).toBe(200);
		expect(await ready.json()).toEqual({ status: 'ready' });
	}
	for (const instance of cluster.instances) expect(instance.logs()).not.toMatch(/already exists|duplicate key|deadlock/);
});

test('every instance publishes the same signing keys, made once in the shared database', async () => {
	const sets = await Promise.all([0, 1, 2].map(async (i) => (await (await fetch(`${cluster.at(i)}/.well-known/jwks.json`)).json()).keys));
	expect(sets[0].length).toBe(1);
	expect(sets[1]).toEqual(sets[0]);
	expect(sets[2]).toEqual(sets[0]);
});
