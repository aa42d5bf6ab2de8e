import { expect, test } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { form, readDatabase } from '../support/oauth.ts';
import { SERVERS } from '../support/servers.ts';
import { freePort, startServer } from '../support/spawned-server.ts';

/** The security review's findings that a CLI, an API or an operator meets (issue "Close the side doors"). */

const main = SERVERS.main;

test('userinfo without any token answers 401 with a bare Bearer challenge (RFC 6750 §3.1), and JSON', async () => {
	const response = await fetch(`${main.origin}/oauth/userinfo`);
	expect(response.status).toBe(401);
	expect(response.headers.get('www-authenticate')).toBe('Bearer realm="doorcode"');
	expect(await response.json()).toEqual({ error: 'invalid_token', error_description: 'Send an access token as "Authorization: Bearer <token>".' });
	const wrong = await fetch(`${main.origin}/oauth/userinfo`, { headers: { Authorization: 'Bearer nope' } });
	expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer realm="doorcode", error="invalid_token"/);
});

/** What the server answers to a request written by hand (fetch and node:http refuse or reshape some of these). */
function rawRequest(requestText: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
	return new Promise((resolve, reject) => {
		const socket = connect(main.port, '127.0.0.1', () => socket.write(requestText));
		let text = '';
		socket.on('data', (chunk) => (text += chunk));
		socket.on('end', () => {
			const [head, body] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
			const [statusLine, ...lines] = head.split('\r\n');
			const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
			resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
		});
		socket.on('error', reject);
	});
}

const withoutBody = (method: string, path: string) => `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;

test('TRACE on /oauth/* and /.well-known/* answers 405 with Allow, an RFC 6749 body and the security headers, not plain text', async () => {
	for (const [path, allow] of [
		['/oauth/token', 'POST'],
		['/oauth/device_authorization', 'POST'],
		['/oauth/userinfo', 'GET, POST'],
		['/.well-known/openid-configuration', 'GET'],
		['/.well-known/jwks.json', 'GET']
	]) {
		const answer = await rawRequest(withoutBody('TRACE', path));
		expect(answer.status).toBe(405);
		expect(answer.headers['x-content-type-options']).toBe('nosniff');
		expect(answer.headers['referrer-policy']).toBe('no-referrer');
		expect(answer.headers.allow).toBe(allow);
		expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
		expect(JSON.parse(answer.body)).toEqual({ error: 'invalid_request', error_description: `Use ${allow} for this endpoint.` });
	}
});

test('a request Node cannot parse (an unknown method such as TRACK) gets a JSON 400, not an empty one', async () => {
	for (const method of ['FOO', 'TRACK']) {
		const answer = await rawRequest(withoutBody(method, '/oauth/token'));
		expect(answer.status).toBe(400);
		expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
		expect(JSON.parse(answer.body)).toEqual({ error: 'invalid_request', error_description: 'The request is not valid HTTP.' });
	}
});

test('a JSON number where a string belongs answers invalid_request, naming the parameter', async () => {
	const response = await fetch(`${main.origin}/oauth/token`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: 'demo-cli', device_code: 12345 })
	});
	expect(response.status).toBe(400);
	expect(await response.json()).toEqual({ error: 'invalid_request', error_description: 'The parameter "device_code" must be a string.' });
});

test('pages are never cached: every HTML answer says Cache-Control: no-store', async () => {
	for (const path of ['/device', '/login', '/device/error?reason=expired', '/device/success?code=BCDFGHJK', '/account']) {
		const response = await fetch(`${main.origin}${path}`, { redirect: 'manual' });
		if (response.status === 200) expect(response.headers.get('content-type')).toMatch(/^text\/html/);
		expect(response.headers.get('cache-control')).toBe('no-store');
	}
});

test('with TRUST_PROXY, only an IP address in X-Forwarded-For counts; other text falls back to the connection', async () => {
	const answer = await form(main, '/oauth/device_authorization', { client_id: 'demo-cli' }, { 'X-Forwarded-For': '<img src=x onerror=alert(1)>' });
	expect(answer.status).toBe(200);
	const userCode = (answer.body.user_code as string).replace('-', '');
	const row = readDatabase(main, (db) =>
		db.prepare<[string], { requester_ip: string }>('SELECT requester_ip FROM device_authorizations WHERE user_code = ?').get(userCode)
	);
	expect(row).toEqual({ requester_ip: '127.0.0.1' });
});

/** Starts `node server.js` with a bad environment and returns how it ended and what it printed. */
function startWith(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
	return new Promise((resolve) => {
		const child = spawn(process.execPath, ['server.js'], {
			env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', DEV_IDP: '1', HOST: '127.0.0.1', ...env },
			stdio: ['ignore', 'ignore', 'pipe']
		});
		let stderr = '';
		child.stderr.on('data', (chunk) => (stderr += chunk));
		const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
		child.on('exit', (code) => {
			clearTimeout(timer);
			resolve({ code, stderr });
		});
	});
}

test('a bad start-up setting stops the server with one line naming it, never a stack trace', async () => {
	const folder = mkdtempSync(join(tmpdir(), 'doorcode-startup-'));
	const notADatabase = join(folder, 'notes.txt');
	writeFileSync(notADatabase, 'these are notes, not a database\n'.repeat(200));
	const busyPort = await freePort();
	const busy = createServer().listen(busyPort, '127.0.0.1');
	const database = join(folder, 'ok.db');
	const cases: [Record<string, string>, RegExp][] = [
		[{ PORT: 'abc', DATABASE_PATH: database }, /^doorcode: PORT: must be a port number from 1 to 65535 \(got "abc"\)$/],
		[{ PORT: '99999', DATABASE_PATH: database }, /^doorcode: PORT: must be a port number/],
		[
			{ PORT: String(await freePort()), DATABASE_PATH: database, SHUTDOWN_GRACE_SECONDS: 'abc' },
			/^doorcode: SHUTDOWN_GRACE_SECONDS: must be a whole number of seconds from 0 to 3600 \(got "abc"\)$/
		],
		[{ PORT: String(await freePort()), DATABASE_PATH: database, SHUTDOWN_GRACE_SECONDS: '-5' }, /^doorcode: SHUTDOWN_GRACE_SECONDS: must be a whole number/],
		[{ PORT: String(await freePort()), HOST: '999.1.1.1', DATABASE_PATH: database }, /^doorcode: HOST: must be an IP address or a host name/],
		[{ PORT: String(busyPort), DATABASE_PATH: database }, new RegExp(`^doorcode: PORT: ${busyPort} is already in use on 127\\.0\\.0\\.1`)],
		[{ PORT: String(await freePort()), DATABASE_PATH: notADatabase }, /^doorcode: DATABASE_PATH: cannot open .* as a SQLite database: file is not a database$/],
		[{ PORT: String(await freePort()), DATABASE_PATH: join(notADatabase, 'doorcode.db') }, /^doorcode: DATABASE_PATH: cannot open .* as a SQLite database: /],
		[
			{
				PORT: String(await freePort()),
				DATABASE_PATH: database,
				NODE_ENV: 'production',
				DEV_IDP: '0',
				ORIGIN: 'http://login.example.org',
				CLIENTS_FILE: 'tests/fixtures/clients.json',
				ORCID_CLIENT_ID: 'APP-TEST',
				ORCID_CLIENT_SECRET: 'secret',
				KEY_ENCRYPTION_SECRET: 'a key encryption secret of at least 32 characters'
			},
			/^doorcode: ORIGIN: must be https when NODE_ENV=production/
		]
	];
	try {
		for (const [env, expected] of cases) {
			const { code, stderr } = await startWith(env);
			const lines = stderr.split('\n').filter((line) => line && !line.includes('DEV_IDP=1: development sign-in'));
			expect(code, stderr).toBe(1);
			expect(lines, stderr).toHaveLength(1);
			expect(lines[0]).toMatch(expected);
			expect(stderr).not.toMatch(/\n\s+at /);
		}
	} finally {
		busy.close();
	}
});

test('a KEY_ENCRYPTION_SECRET that does not open the stored signing keys stops start-up with one line naming it', async () => {
	const first = await startServer('wrong-key-secret', { KEY_ENCRYPTION_SECRET: 'the secret the keys were sealed with, 32+ chars' });
	expect((await fetch(`${first.origin}/readyz`)).status).toBe(200);
	await first.kill();
	const { code, stderr } = await startWith({
		PORT: String(await freePort()),
		DATABASE_PATH: first.databasePath,
		KEY_ENCRYPTION_SECRET: 'another secret altogether, also 32+ characters'
	});
	const lines = stderr.split('\n').filter((line) => line && !line.includes('DEV_IDP=1: development sign-in'));
	expect(code, stderr).toBe(1);
	expect(lines, stderr).toEqual([
		expect.stringMatching(
			/^doorcode: KEY_ENCRYPTION_SECRET: the signing key \S+ cannot be opened: KEY_ENCRYPTION_SECRET is not the one it was encrypted with; set the secret the keys were stored with$/
		)
	]);
});
