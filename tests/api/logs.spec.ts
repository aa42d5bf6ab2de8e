import { expect, test, type Page, type Response as PageResponse } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { DevicePage, DevIdentityProviderPage, LoginPage, signInAndDecide } from '../support/pages.ts';
import { startServer, type SpawnedServer } from '../support/spawned-server.ts';

/**
 * What an operator finds in doorcode's logs after a whole day's work: one JSON line per
 * request (id, route, status, duration) that ties to the X-Request-Id the client saw, and
 * not one of the secrets that went over the wire — device codes, tokens, the personal
 * access token, session cookies, client secrets, the provider's state and code.
 */

test.describe.configure({ mode: 'default' });

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const ACME_BASIC = `Basic ${Buffer.from('acme-api:acme-secret').toString('base64')}`;

let server: SpawnedServer;

test.beforeAll(async () => {
	server = await startServer('logs');
});

test.afterAll(async () => {
	await server?.kill('SIGTERM');
});

/** Every secret the test saw, by where it came from, and every request id with the status the client got. */
class Witness {
	readonly secrets = new Map<string, string>();
	readonly requestIds = new Map<string, { status: number; what: string }>();

	secret(what: string, value: unknown) {
		if (typeof value !== 'string' || value.length < 8) return;
		this.secrets.set(value, what);
	}

	/** Cookie values that are random secrets (sessions, state, PKCE verifiers), not paths or user codes. */
	cookie(what: string, value: string | undefined) {
		if (value && value.length >= 16 && /^[A-Za-z0-9_.~-]+$/.test(value)) this.secret(what, value);
	}

	answered(what: string, status: number, requestId: string | null) {
		if (requestId) this.requestIds.set(requestId, { status, what });
	}

	/** Records request ids, Set-Cookie values and the provider's state and code from everything the browser does. */
	watch(page: Page) {
		page.on('request', (request) => {
			const url = new URL(request.url());
			if (url.pathname === '/oauth/authorize' || url.pathname.endsWith('/callback')) {
				for (const name of ['state', 'code', 'code_challenge', 'nonce']) this.secret(`provider ${name} (${url.pathname})`, url.searchParams.get(name));
			}
		});
		page.on('response', async (response: PageResponse) => {
			const headers = await response.allHeaders().catch(() => ({}) as Record<string, string>);
			const url = new URL(response.url());
			if (url.origin === server.origin)
				this.answered(`browser ${response.request().method()} ${url.pathname}`, response.status(), headers['x-request-id'] ?? null);
			for (const line of (headers['set-cookie'] ?? '').split('\n')) {
				const [pair] = line.split(';');
				const value = pair?.slice(pair.indexOf('=') + 1);
				this.cookie(`cookie ${pair?.split('=')[0]} from ${url.host}${url.pathname}`, value);
			}
		});
	}

	async fetch(what: string, path: string, init: RequestInit = {}) {
		const response = await fetch(`${server.origin}${path}`, { redirect: 'manual', ...init });
		this.answered(what, response.status, response.headers.get('x-request-id'));
		const text = await response.text();
		return { status: response.status, headers: response.headers, body: text.startsWith('{') ? JSON.parse(text) : text };
	}

	form(what: string, path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
		return this.fetch(what, path, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
			body: new URLSearchParams(fields)
		});
	}
}

test('a whole day of device logins leaves one JSON log line per request, and no secret in the logs', async ({ browser }) => {
	test.setTimeout(90_000);
	const witness = new Witness();
	witness.secret('client secret', 'acme-secret');
	witness.secret('client Basic credentials', ACME_BASIC.slice('Basic '.length));

	const context = await browser.newContext({ baseURL: server.origin });
	const page = await context.newPage();
	witness.watch(page);

	await test.step('a CLI logs in: code, approval in the browser, tokens', async () => {
		const code = await witness.form('device authorization', '/oauth/device_authorization', { client_id: 'demo-cli', scope: 'read write' });
		expect(code.status).toBe(200);
		witness.secret('device code', code.body.device_code);
		const pending = await witness.form('poll (pending)', '/oauth/token', {
			grant_type: DEVICE_GRANT,
			device_code: code.body.device_code,
			client_id: 'demo-cli'
		});
		expect(pending.body.error).toBe('authorization_pending');

		await signInAndDecide(page, code.body.user_code, { user: 'Josiah Carberry' });
		await expect(page).toHaveURL(/\/device\/success/);
		await page.waitForTimeout(1100);
		const tokens = await witness.form('poll (tokens)', '/oauth/token', { grant_type: DEVICE_GRANT, device_code: code.body.device_code, client_id: 'demo-cli' });
		expect(tokens.status).toBe(200);
		witness.secret('access token', tokens.body.access_token);
		witness.secret('refresh token', tokens.body.refresh_token);

		// A device code that was never issued: invalid_grant.
		const replay = await witness.form('poll (replay)', '/oauth/token', {
			grant_type: DEVICE_GRANT,
			device_code: `${code.body.device_code}x`,
			client_id: 'demo-cli'
		});
		expect(replay.body.error).toBe('invalid_grant');

		const refreshed = await witness.form('refresh', '/oauth/token', {
			grant_type: 'refresh_token',
			refresh_token: tokens.body.refresh_token,
			client_id: 'demo-cli'
		});
		expect(refreshed.status).toBe(200);
		witness.secret('refreshed access token', refreshed.body.access_token);
		witness.secret('refreshed refresh token', refreshed.body.refresh_token);

		const me = await witness.fetch('userinfo', '/oauth/userinfo', { headers: { Authorization: `Bearer ${refreshed.body.access_token}` } });
		expect(me.status).toBe(200);
		expect(me.body.sub).toBe('orcid:0000-0002-1825-0097');

		const introspected = await witness.form(
			'introspection by acme-api',
			'/oauth/introspect',
			{ token: refreshed.body.access_token },
			{ Authorization: ACME_BASIC }
		);
		expect(introspected.body).toMatchObject({ active: true, client_id: 'demo-cli' });
		const wrongSecret = await witness.form('introspection with a wrong secret', '/oauth/introspect', {
			token: refreshed.body.access_token,
			client_id: 'acme-api',
			client_secret: 'not-the-acme-secret'
		});
		expect(wrongSecret.status).toBe(401);
		witness.secret('a wrong client secret', 'not-the-acme-secret');

		const revoked = await witness.form('revoke (logout)', '/oauth/revoke', {
			token: refreshed.body.refresh_token,
			token_type_hint: 'refresh_token',
			client_id: 'demo-cli'
		});
		expect(revoked.status).toBe(200);
		const after = await witness.fetch('userinfo after revoke', '/oauth/userinfo', { headers: { Authorization: `Bearer ${refreshed.body.access_token}` } });
		expect(after.status).toBe(401);
	});

	await test.step('a sign-in that fails at the provider, and a forged callback', async () => {
		const code = await witness.form('device authorization (cancelled)', '/oauth/device_authorization', { client_id: 'demo-cli' });
		witness.secret('device code (cancelled)', code.body.device_code);
		// A fresh browser, so the provider asks again and Cancel is there to press.
		const other = await browser.newContext({ baseURL: server.origin });
		const cancelling = await other.newPage();
		witness.watch(cancelling);
		const device = new DevicePage(cancelling);
		await device.open();
		await device.enterCode(code.body.user_code);
		await new LoginPage(cancelling).signInWith('ORCID');
		await new DevIdentityProviderPage(cancelling).cancel();
		await expect(cancelling).toHaveURL(/\/device\/error/);
		for (const cookie of await other.cookies()) witness.cookie(`cookie ${cookie.name} (cancelling browser)`, cookie.value);
		await other.close();
		await new Promise((resolve) => setTimeout(resolve, 1100));
		const denied = await witness.form('poll (denied)', '/oauth/token', { grant_type: DEVICE_GRANT, device_code: code.body.device_code, client_id: 'demo-cli' });
		expect(denied.body.error).toBe('access_denied');

		const forgedState = randomBytes(24).toString('base64url');
		const forgedCode = randomBytes(24).toString('base64url');
		witness.secret('forged callback state', forgedState);
		witness.secret('forged callback code', forgedCode);
		const forged = await witness.fetch('forged callback', `/login/orcid/callback?code=${forgedCode}&state=${forgedState}`);
		expect(forged.status).toBe(303);
		expect(forged.headers.get('location')).toMatch(/^\/login\?error=/);
	});

	await test.step('a personal access token is created on /account', async () => {
		await page.goto('/account');
		const create = page.getByRole('button', { name: 'Create token' });
		await expect(create).toBeVisible();
		await page.getByLabel('Name').fill('CI deploy');
		await page.getByRole('checkbox', { name: 'read' }).check();
		await create.click();
		const shown = page.getByRole('textbox', { name: 'New token' });
		await expect(shown).toHaveValue(/^dcp_/);
		const pat = await shown.inputValue();
		witness.secret('personal access token', pat);
		const me = await witness.fetch('userinfo with the personal access token', '/oauth/userinfo', { headers: { Authorization: `Bearer ${pat}` } });
		expect(me.status).toBe(200);
	});

	for (const cookie of await context.cookies()) witness.cookie(`cookie ${cookie.name}`, cookie.value);
	expect([...witness.secrets.values()].filter((what) => what.startsWith('cookie doorcode_session')).length).toBeGreaterThan(0);
	expect([...witness.secrets.values()].some((what) => what.startsWith('provider state'))).toBe(true);
	expect([...witness.secrets.values()].some((what) => what.startsWith('provider code'))).toBe(true);
	await context.close();
	// Lines are flushed once per turn of the server's event loop: let the last ones out.
	await new Promise((resolve) => setTimeout(resolve, 300));
	const logs = server.logs();

	await test.step('every line that looks like JSON is JSON, and each request has exactly one line', async () => {
		const lines = logs.split('\n').filter((line) => line.startsWith('{'));
		const entries = lines.map((line) => {
			try {
				return JSON.parse(line) as Record<string, unknown>;
			} catch {
				throw new Error(`a log line that is not JSON: ${line.slice(0, 200)}`);
			}
		});
		const requests = entries.filter((entry) => entry.msg === 'request');
		for (const entry of requests) {
			expect(entry).toMatchObject({
				id: expect.any(String),
				method: expect.any(String),
				route: expect.any(String),
				status: expect.any(Number),
				ms: expect.any(Number)
			});
			expect(entry.route, 'a route, never a query').not.toContain('?');
		}
		expect(witness.requestIds.size).toBeGreaterThan(25);
		const byId = new Map<string, Record<string, unknown>[]>();
		for (const entry of requests) byId.set(entry.id as string, [...(byId.get(entry.id as string) ?? []), entry]);
		for (const [id, { status, what }] of witness.requestIds) {
			const found = byId.get(id) ?? [];
			expect(found.length, `log lines for ${what} (X-Request-Id ${id})`).toBe(1);
			expect(found[0].status, `logged status of ${what}`).toBe(status);
		}
		// Nothing logs a request twice, under any id.
		for (const [id, found] of byId) expect(found.length, `lines with id ${id}`).toBe(1);
	});

	await test.step('no secret the test saw is anywhere in the logs', async () => {
		expect(witness.secrets.size).toBeGreaterThan(12);
		const leaked = [...witness.secrets].filter(([value]) => logs.includes(value) || logs.includes(encodeURIComponent(value)));
		expect(leaked.map(([value, what]) => `${what}: ${value.slice(0, 12)}…`)).toEqual([]);
	});
});
