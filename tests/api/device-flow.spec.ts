import { expect, test } from '@playwright/test';
import * as client from 'openid-client';
import { signInAndDecide } from '../support/pages.ts';
import { DEVICE_GRANT, discover, form, poll, readDatabase, requestCode, sleep } from '../support/oauth.ts';
import { SERVERS } from '../support/servers.ts';

const server = SERVERS.main;
const PENDING_ENTRY = { error: 'authorization_pending', error_description: 'Waiting for the code to be entered in a browser.' };
const UNKNOWN_CODE = { error: 'invalid_grant', error_description: 'The device code is unknown or was issued to another client.' };

test.describe('metadata', () => {
	test('RFC 8414 metadata names ORIGIN as issuer and every endpoint under it', async () => {
		const response = await fetch(`${server.origin}/.well-known/oauth-authorization-server`);
		expect(response.status).toBe(200);
		expect(response.headers.get('cache-control')).toBe('no-store');
		const metadata = await response.json();
		expect(metadata).toMatchObject({
			issuer: server.origin,
			device_authorization_endpoint: `${server.origin}/oauth/device_authorization`,
			token_endpoint: `${server.origin}/oauth/token`,
			userinfo_endpoint: `${server.origin}/oauth/userinfo`
		});
		expect(metadata.grant_types_supported).toContain(DEVICE_GRANT);
	});
});

test.describe('device authorization', () => {
	test('a form-encoded request gets a code in RFC 8628 shape', async () => {
		const answer = await form(server, '/oauth/device_authorization', { client_id: 'demo-cli', scope: 'read' });
		expect(answer.status).toBe(200);
		expect(answer.headers.get('cache-control')).toBe('no-store');
		expect(answer.body).toEqual({
			device_code: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
			user_code: expect.stringMatching(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/),
			verification_uri: `${server.origin}/device`,
			verification_uri_complete: `${server.origin}/device?user_code=${answer.body.user_code}`,
			expires_in: 600,
			interval: 1
		});
	});

	test('a JSON request is accepted like a form-encoded one', async () => {
		const response = await fetch(`${server.origin}/oauth/device_authorization`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify({ client_id: 'demo-cli', scope: 'read write' })
		});
		expect(response.status).toBe(200);
		expect((await response.json()).user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
	});

	test('only the SHA-256 of the device code is stored', async () => {
		const code = await requestCode(server);
		const stored = readDatabase(server, (db) =>
			db.prepare('SELECT hex(device_code_hash) AS hash, status FROM device_authorizations WHERE user_code = ?').get(code.user_code.replace('-', ''))
		) as { hash: string; status: string };
		const { createHash } = await import('node:crypto');
		expect(stored).toEqual({ hash: createHash('sha256').update(code.device_code).digest('hex').toUpperCase(), status: 'pending' });
		const dump = readDatabase(server, (db) => JSON.stringify(db.prepare('SELECT * FROM device_authorizations').all()));
		expect(dump).not.toContain(code.device_code);
	});

	test('an unknown client answers invalid_client with 401', async () => {
		const answer = await form(server, '/oauth/device_authorization', { client_id: 'nobody' });
		expect(answer.status).toBe(401);
		expect(answer.body).toEqual({ error: 'invalid_client', error_description: 'Unknown or disabled client.' });
	});

	test('a confidential client without its secret answers invalid_client; with it, a code', async () => {
		expect((await form(server, '/oauth/device_authorization', { client_id: 'acme-api' })).status).toBe(401);
		const basic = `Basic ${Buffer.from('acme-api:acme-secret').toString('base64')}`;
		const answer = await form(server, '/oauth/device_authorization', {}, { Authorization: basic });
		expect(answer.status).toBe(200);
		const wrong = await form(server, '/oauth/device_authorization', { client_id: 'acme-api', client_secret: 'guess' });
		expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
	});

	test('a scope the client may not ask for answers invalid_scope', async () => {
		const answer = await form(server, '/oauth/device_authorization', { client_id: 'narrow-cli', scope: 'read write' });
		expect(answer.status).toBe(400);
		expect(answer.body).toEqual({ error: 'invalid_scope', error_description: 'This client may not ask for: write.' });
	});
});

test.describe('token polling', () => {
	test('before the code is entered the poll answers authorization_pending naming the stage', async () => {
		const code = await requestCode(server);
		const answer = await poll(server, code.device_code);
		expect(answer.status).toBe(400);
		expect(answer.headers.get('cache-control')).toBe('no-store');
		expect(answer.body).toEqual({ error: 'authorization_pending', error_description: 'Waiting for the code to be entered in a browser.' });
	});

	test('polling before the interval answers slow_down and adds 5 s for every later poll', async () => {
		const code = await requestCode(server);
		await poll(server, code.device_code);
		const tooSoon = await poll(server, code.device_code);
		expect(tooSoon.body).toEqual({ error: 'slow_down', error_description: 'Polling too fast: wait 6 seconds between requests.' });
		await sleep(1100);
		expect((await poll(server, code.device_code)).body).toEqual({
			error: 'slow_down',
			error_description: 'Polling too fast: wait 11 seconds between requests.'
		});
		const stored = readDatabase(server, (db) =>
			db.prepare('SELECT interval_seconds FROM device_authorizations WHERE user_code = ?').get(code.user_code.replace('-', ''))
		);
		expect(stored).toEqual({ interval_seconds: 11 });
	});

	test('a refused poll does not restart the clock, so a client that backs off gets through', async () => {
		const code = await requestCode(server);
		await poll(server, code.device_code);
		expect((await poll(server, code.device_code)).body).toEqual({
			error: 'slow_down',
			error_description: 'Polling too fast: wait 6 seconds between requests.'
		});
		await sleep(6100);
		expect((await poll(server, code.device_code)).body).toEqual(PENDING_ENTRY);
	});

	test('an expired code answers expired_token', async () => {
		const code = await requestCode(SERVERS.shortLived);
		await sleep(2100);
		const answer = await poll(SERVERS.shortLived, code.device_code);
		expect(answer.status).toBe(400);
		expect(answer.body).toEqual({ error: 'expired_token', error_description: 'The device code has expired. Start the login again to get a new code.' });
	});

	test('an unknown device code answers invalid_grant; a wrong grant type unsupported_grant_type', async () => {
		expect((await poll(server, 'not-a-code')).body).toEqual(UNKNOWN_CODE);
		const answer = await form(server, '/oauth/token', { grant_type: 'password', client_id: 'demo-cli' });
		expect(answer).toMatchObject({
			status: 400,
			body: {
				error: 'unsupported_grant_type',
				error_description: 'This server supports grant_type urn:ietf:params:oauth:grant-type:device_code, authorization_code and refresh_token.'
			}
		});
		const missing = await form(server, '/oauth/token', { grant_type: DEVICE_GRANT, client_id: 'demo-cli' });
		expect(missing).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'device_code is required.' } });
	});

	test('a device code polled by another client answers invalid_grant and stays usable by its own', async () => {
		const code = await requestCode(server);
		expect((await poll(server, code.device_code, 'narrow-cli')).body).toEqual(UNKNOWN_CODE);
		expect((await poll(server, code.device_code)).body).toEqual(PENDING_ENTRY);
	});

	test('openid-client completes the device flow once the person approves in the browser', async ({ page }) => {
		const config = await discover(server);
		const authorization = await client.initiateDeviceAuthorization(config, { scope: 'read' });
		const tokens = client.pollDeviceAuthorizationGrant(config, authorization);
		await signInAndDecide(page, authorization.user_code);
		const granted = await tokens;
		expect(granted).toMatchObject({ token_type: 'bearer', scope: 'read', expires_in: 3600 });
		expect(granted.access_token).toMatch(/^dca_/);
		expect(granted.refresh_token).toMatch(/^dcr_/);
	});

	test('40 concurrent polls after approval give exactly one token response', async ({ page }) => {
		const code = await requestCode(server);
		await signInAndDecide(page, code.user_code);
		await sleep(1100);
		const answers = await Promise.all(Array.from({ length: 40 }, () => poll(server, code.device_code)));
		const issued = answers.filter((a) => a.status === 200);
		expect(issued).toHaveLength(1);
		expect(issued[0].body.access_token).toMatch(/^dca_/);
		for (const refused of answers.filter((a) => a.status !== 200)) {
			expect(['slow_down', 'invalid_grant']).toContain(refused.body.error);
		}
		const grants = readDatabase(server, (db) =>
			db
				.prepare('SELECT count(*) AS n FROM grants WHERE id = (SELECT grant_id FROM device_authorizations WHERE user_code = ?)')
				.get(code.user_code.replace('-', ''))
		);
		expect(grants).toEqual({ n: 1 });
	});

	test('a replayed device code answers invalid_grant and revokes the tokens issued from it', async ({ page }) => {
		const code = await requestCode(server);
		await signInAndDecide(page, code.user_code);
		await sleep(1100);
		const first = await poll(server, code.device_code);
		expect(first.status).toBe(200);
		const bearer = { Authorization: `Bearer ${first.body.access_token}` };
		expect((await fetch(`${server.origin}/oauth/userinfo`, { headers: bearer })).status).toBe(200);
		await sleep(1100);
		const replay = await poll(server, code.device_code);
		expect(replay.body).toEqual({
			error: 'invalid_grant',
			error_description: 'The device code was already used; the tokens issued from it are now revoked.'
		});
		const after = await fetch(`${server.origin}/oauth/userinfo`, { headers: bearer });
		expect(after.status).toBe(401);
		expect(await after.json()).toEqual({ error: 'invalid_token', error_description: 'The access token is unknown, expired or revoked.' });
	});
});

test.describe('bad input', () => {
	const badBodies: [string, string, string, string][] = [
		['malformed JSON', 'application/json', '{"grant_type":', 'The request body is not valid JSON.'],
		['a JSON array', 'application/json', '[1,2]', 'The JSON body must be an object of parameters.'],
		['a nested JSON value', 'application/json', '{"client_id":{"$ne":1}}', 'The parameter "client_id" must be a string.'],
		['an unsupported content type', 'text/xml', '<a/>', 'Send the parameters as application/x-www-form-urlencoded or application/json.'],
		['invalid UTF-8', 'application/x-www-form-urlencoded', '\xff\xfe', 'The request body is not valid UTF-8.'],
		['a repeated parameter', 'application/x-www-form-urlencoded', 'client_id=demo-cli&client_id=demo-cli', 'The parameter "client_id" was sent more than once.']
	];
	for (const [name, type, body, expected] of badBodies) {
		test(`${name} gets a 400 RFC 6749 error, never a 500 or HTML`, async () => {
			for (const path of ['/oauth/device_authorization', '/oauth/token']) {
				const response = await fetch(`${server.origin}${path}`, {
					method: 'POST',
					headers: { 'Content-Type': type },
					body: Buffer.from(body, 'latin1')
				});
				expect(response.status).toBe(400);
				expect(response.headers.get('content-type')).toContain('application/json');
				expect(await response.json()).toEqual({ error: 'invalid_request', error_description: expected });
			}
		});
	}

	test('an oversized body gets 413 as JSON', async () => {
		const response = await fetch(`${server.origin}/oauth/token`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
			body: `device_code=${'a'.repeat(64 * 1024)}`
		});
		expect(response.status).toBe(413);
		expect(await response.json()).toEqual({ error: 'invalid_request', error_description: 'The request body is larger than 16384 bytes.' });
	});

	test('a GET on a POST endpoint and an unknown /oauth path answer JSON', async () => {
		const get = await fetch(`${server.origin}/oauth/token`);
		expect(get.status).toBe(405);
		expect(await get.json()).toEqual({ error: 'invalid_request', error_description: 'Use POST for this endpoint.' });
		const unknown = await fetch(`${server.origin}/oauth/nothing-here`, { method: 'POST' });
		expect(unknown.status).toBe(404);
		expect(await unknown.json()).toEqual({ error: 'invalid_request', error_description: 'There is no such endpoint.' });
	});

	test('a form POST from another site to a page is refused, while CLIs may post to /oauth/* with no Origin', async () => {
		const crossSite = await fetch(`${server.origin}/device`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'https://evil.example' },
			body: 'code=BCDFGHJK'
		});
		expect(crossSite.status).toBe(403);
		const cli = await form(server, '/oauth/device_authorization', { client_id: 'demo-cli' });
		expect(cli.status).toBe(200);
	});
});
