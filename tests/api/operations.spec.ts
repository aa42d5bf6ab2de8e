import { expect, test } from '@playwright/test';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpBrowser } from '../support/http-browser.ts';
import { loopbackRedirect } from '../support/loopback.ts';
import { ISSUER_USERS, startTestIssuer, walkSignIn, type TestIssuer } from '../support/oidc-issuer.ts';
import { requestCode } from '../support/oauth.ts';
import { authorizeInBrowser } from '../support/pages.ts';
import { SERVERS } from '../support/servers.ts';
import { freePort, startServer, type SpawnedServer } from '../support/spawned-server.ts';

/** SPEC "Operations": probes and metrics, as Kubernetes and Prometheus use them. */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

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

test.describe('the authorization code flow and sign-ins at the providers', () => {
	let withProviders: SpawnedServer;
	let acme: TestIssuer;

	test.beforeAll(async () => {
		const name = `code-metrics-${test.info().workerIndex}`;
		const port = await freePort();
		acme = await startTestIssuer({ origin: `http://localhost:${port}`, id: 'acme' });
		const down = { ...acme.entry('Down SSO'), id: 'down', issuer: `http://127.0.0.1:${await freePort()}` };
		const providersFile = `${ROOT}.e2e/${name}-providers.json`;
		writeFileSync(providersFile, JSON.stringify({ providers: [acme.entry('Acme SSO'), down] }));
		// Beside the test clients, one whose `allow` admits nobody the providers here know.
		const clients = JSON.parse(readFileSync(`${ROOT}tests/fixtures/clients.json`, 'utf8')) as { clients: unknown[] };
		clients.clients.push({
			id: 'closed-cli',
			name: 'Closed CLI',
			type: 'public',
			scopes: ['read'],
			grant_types: ['authorization_code'],
			redirect_uris: ['http://127.0.0.1/callback'],
			allow: { email_domains: ['nobody.example'] }
		});
		const clientsFile = `${ROOT}.e2e/${name}-clients.json`;
		writeFileSync(clientsFile, JSON.stringify(clients));
		withProviders = await startServer(name, { PROVIDERS_FILE: providersFile, CLIENTS_FILE: clientsFile }, { port });
	});
	test.afterAll(async () => {
		await withProviders?.kill();
		await acme?.close();
	});

	const scrape = async () => (await fetch(`${withProviders.origin}/metrics`)).text();
	const codeEvents = (text: string) =>
		Object.fromEntries([...text.matchAll(/^doorcode_authorization_code_events_total\{event="(\w+)"\} (\d+)$/gm)].map(([, event, n]) => [event, Number(n)]));
	const signIns = (text: string) =>
		Object.fromEntries(
			[...text.matchAll(/^doorcode_sign_ins_total\{provider="([^"]*)",outcome="(\w+)"\} (\d+)$/gm)].map(([, provider, outcome, n]) => [
				`${provider} ${outcome}`,
				Number(n)
			])
		);

	function authorizationUrl(clientId: string, redirectUri: string, challenge: string) {
		const query = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'read', state: 'st-metrics' });
		query.set('code_challenge', challenge);
		query.set('code_challenge_method', 'S256');
		return `${withProviders.origin}/oauth/authorize?${query}`;
	}

	/** A sign-in at Acme SSO as Ada, without a screen: doorcode's redirect, the issuer's page, and the callback; where doorcode then sends the browser. */
	async function signInAtAcme(): Promise<URL> {
		const browser = new HttpBrowser();
		const begun = await browser.request(`${withProviders.origin}/login/acme`);
		const query = await walkSignIn(new URL(begun.headers.get('location') ?? ''), withProviders.origin, ISSUER_USERS.ada.sub);
		const callback = await browser.request(`${withProviders.origin}/login/acme/callback?${query}`);
		return new URL(callback.headers.get('location') ?? '', withProviders.origin);
	}

	test('/metrics counts codes issued, denied, redeemed, replayed and refused, and sign-ins by provider and outcome, naming no person, code or token', async ({
		page
	}) => {
		test.setTimeout(90_000);
		const before = await scrape();
		expect(codeEvents(before), 'every event is there before the first one').toEqual({ issued: 0, denied: 0, redeemed: 0, replayed: 0, refused: 0 });
		expect(signIns(before)).toEqual({});

		const verifier = randomBytes(32).toString('base64url');
		const challenge = createHash('sha256').update(verifier).digest('base64url');
		const seen: string[] = [];

		await test.step('Deny after signing in at ORCID, then Approve: the code is redeemed once, and its replay refused', async () => {
			const denied = await loopbackRedirect();
			const approved = await loopbackRedirect();
			try {
				await authorizeInBrowser(page, authorizationUrl('demo-cli', denied.redirectUri, challenge), { clientName: 'Demo CLI', decision: 'deny' });
				expect((await denied.answered).searchParams.get('error')).toBe('access_denied');
				await authorizeInBrowser(page, authorizationUrl('demo-cli', approved.redirectUri, challenge), { clientName: 'Demo CLI', signIn: false });
				const code = (await approved.answered).searchParams.get('code') ?? '';
				const exchange = () =>
					fetch(`${withProviders.origin}/oauth/token`, {
						method: 'POST',
						body: new URLSearchParams({
							grant_type: 'authorization_code',
							code,
							redirect_uri: approved.redirectUri,
							code_verifier: verifier,
							client_id: 'demo-cli'
						})
					});
				const tokens = await exchange();
				expect(tokens.status).toBe(200);
				const { access_token: accessToken, refresh_token: refreshToken } = (await tokens.json()) as { access_token: string; refresh_token: string };
				seen.push(code, accessToken, refreshToken);
				const replay = await exchange();
				expect(replay.status).toBe(400);
				expect(((await replay.json()) as { error: string }).error).toBe('invalid_grant');
			} finally {
				denied.close();
				approved.close();
			}
		});

		await test.step('refused: a client whose grant types leave out the flow, and one whose `allow` refuses this account', async () => {
			const narrow = await fetch(authorizationUrl('narrow-cli', 'http://127.0.0.1:9/callback', challenge), { redirect: 'manual' });
			expect(new URL(narrow.headers.get('location') ?? '').searchParams.get('error')).toBe('unauthorized_client');
			await page.goto(authorizationUrl('closed-cli', 'http://127.0.0.1:9/callback', challenge));
			await expect(page.getByRole('heading', { name: 'This account may not approve Closed CLI' })).toBeVisible();
		});

		await test.step('sign-ins that fail: an issuer that is down, an ID token for another audience, a forged callback; then one that works', async () => {
			const down = await fetch(`${withProviders.origin}/login/down`, { redirect: 'manual' });
			expect(down.headers.get('location')).toContain('problem=unreachable');
			acme.setFault('audience');
			try {
				expect((await signInAtAcme()).searchParams.get('problem')).toBe('invalid_token');
			} finally {
				acme.setFault(null);
			}
			expect((await fetch(`${withProviders.origin}/login/acme/callback?state=forged&code=forged`, { redirect: 'manual' })).status).toBe(303);
			// A provider that is not configured here is no label: the path is whoever sent it.
			expect((await fetch(`${withProviders.origin}/login/made-up/callback?state=forged`, { redirect: 'manual' })).status).toBe(404);
			expect((await signInAtAcme()).pathname).toBe('/account');
		});

		const after = await scrape();
		expect(codeEvents(after)).toEqual({ issued: 1, denied: 1, redeemed: 1, replayed: 1, refused: 2 });
		expect(signIns(after)).toEqual({
			'orcid ok': 1,
			'down unreachable': 1,
			'acme invalid_token': 1,
			'acme state': 1,
			'acme ok': 1
		});
		for (const secret of [
			...seen,
			verifier,
			challenge,
			'made-up',
			ISSUER_USERS.ada.sub,
			ISSUER_USERS.ada.email,
			'Josiah',
			'0000-0002-1825-0097',
			'demo-cli',
			'closed-cli'
		]) {
			expect(after).not.toContain(secret);
		}
	});
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
