import { expect, test } from '@playwright/test';
import Database from 'better-sqlite3';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requires, SBIN_PATH } from '../support/requires.ts';
import { freePort, startServer, type SpawnedServer } from '../support/spawned-server.ts';

/**
 * The deployment docs/operations.md describes, tried: Debian's nginx terminating TLS (a self-signed
 * certificate) with docs/deploy/nginx.conf in front of doorcode with TRUST_PROXY=1. The systemd
 * unit is checked in systemd.spec.ts.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let doorcode: SpawnedServer;
let nginx: ChildProcess;
let httpsPort: number;
let httpPort: number;

test.describe.configure({ mode: 'serial' });
requires('nginx', 'openssl');

test.beforeAll(async () => {
	const dir = mkdtempSync(join(tmpdir(), 'doorcode-nginx-'));
	const made = spawnSync('openssl', [
		'req',
		'-x509',
		'-newkey',
		'rsa:2048',
		'-nodes',
		'-days',
		'1',
		'-subj',
		'/CN=localhost',
		'-keyout',
		join(dir, 'key.pem'),
		'-out',
		join(dir, 'cert.pem')
	]);
	expect(made.status, made.stderr?.toString()).toBe(0);
	[httpsPort, httpPort] = [await freePort(), await freePort()];
	doorcode = await startServer('behind-nginx', {
		ORIGIN: `https://localhost:${httpsPort}`,
		TRUST_PROXY: '1',
		RATE_LIMITS: 'on',
		RATE_LIMIT_DEVICE_AUTHORIZATION: '2/60'
	});
	const site = readFileSync(`${ROOT}docs/deploy/nginx.conf`, 'utf8')
		.replace('server 127.0.0.1:3000;', `server 127.0.0.1:${doorcode.port};`)
		.replace('listen 443 ssl;', `listen 127.0.0.1:${httpsPort} ssl;`)
		.replace('listen 80;', `listen 127.0.0.1:${httpPort};`)
		.replaceAll('login.example.org', 'localhost')
		.replace('/etc/ssl/doorcode/fullchain.pem', join(dir, 'cert.pem'))
		.replace('/etc/ssl/doorcode/privkey.pem', join(dir, 'key.pem'));
	mkdirSync(join(dir, 'logs'));
	writeFileSync(join(dir, 'site.conf'), site);
	writeFileSync(
		join(dir, 'nginx.conf'),
		`daemon off; user root; worker_processes 1; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'logs', 'error.log')};
events {}
http { access_log off; client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; include ${join(dir, 'site.conf')}; }
`
	);
	nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore', env: { ...process.env, PATH: SBIN_PATH } });
	// Until nginx listens, a connection is refused: keep asking.
	await expect
		.poll(
			() =>
				through('GET', '/healthz').then(
					(answer) => answer.status,
					() => 0
				),
			{ timeout: 20_000 }
		)
		.toBe(200);
});

test.afterAll(async () => {
	if (nginx && nginx.exitCode === null) {
		nginx.kill('SIGQUIT');
		await new Promise((resolve) => nginx.once('exit', resolve));
	}
	await doorcode?.kill();
});

/** A request to nginx over https from a given local address (a different client each). */
function through(
	method: string,
	path: string,
	{ from = '127.0.0.1', body, headers = {} }: { from?: string; body?: string; headers?: Record<string, string> } = {}
) {
	return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
		const outgoing = request(
			{
				host: '127.0.0.1',
				port: httpsPort,
				method,
				path,
				localAddress: from,
				rejectUnauthorized: false,
				servername: 'localhost',
				headers: { Host: `localhost:${httpsPort}`, ...headers }
			},
			(response) => {
				let text = '';
				response.on('data', (chunk) => (text += chunk));
				response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
			}
		);
		outgoing.on('error', reject);
		outgoing.end(body);
	});
}

const newCode = (from: string, spoofed?: string) =>
	through('POST', '/oauth/device_authorization', {
		from,
		body: 'client_id=demo-cli',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(spoofed ? { 'X-Forwarded-For': spoofed } : {}) }
	});

test('behind nginx, the client address reaches the limits and the stored "requested from", and a forged X-Forwarded-For does not', async () => {
	const first = await newCode('127.0.0.3', '203.0.113.66');
	expect(first.status).toBe(200);
	const userCode = (JSON.parse(first.body) as { user_code: string }).user_code.replace('-', '');
	const db = new Database(doorcode.databasePath, { readonly: true });
	expect(db.prepare('SELECT requester_ip FROM device_authorizations WHERE user_code = ?').get(userCode)).toEqual({ requester_ip: '127.0.0.3' });
	db.close();

	// RATE_LIMIT_DEVICE_AUTHORIZATION=2/60 per address: the third from 127.0.0.3 is refused; another client is not.
	expect((await newCode('127.0.0.3')).status).toBe(200);
	const refused = await newCode('127.0.0.3', '198.51.100.1');
	expect(refused.status).toBe(429);
	expect(refused.headers['retry-after']).toMatch(/^\d+$/);
	expect((await newCode('127.0.0.4')).status).toBe(200);
});

test('behind https, cookies are Secure with the __Host- prefix, pages carry HSTS, plain http is sent to https, /metrics is not public', async () => {
	const signIn = await through('GET', '/login/orcid?return_to=/account');
	expect(signIn.status).toBe(302);
	const cookies = signIn.headers['set-cookie'] as string[];
	expect(cookies.map((cookie) => cookie.split('=')[0]).sort()).toEqual([
		'__Host-oauth_code_verifier',
		'__Host-oauth_provider',
		'__Host-oauth_return_to',
		'__Host-oauth_state'
	]);
	for (const cookie of cookies) expect(cookie).toMatch(/; Path=\/; .*HttpOnly; Secure; SameSite=Lax/);
	expect((await through('GET', '/device')).headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');

	const plain = await fetch(`http://127.0.0.1:${httpPort}/device`, { redirect: 'manual' });
	expect(plain.status).toBe(301);
	expect(plain.headers.get('location')).toBe('https://localhost/device');
	expect((await through('GET', '/metrics')).status).toBe(404);
	const metadata = JSON.parse((await through('GET', '/.well-known/oauth-authorization-server')).body) as { issuer: string };
	expect(metadata.issuer).toBe(`https://localhost:${httpsPort}`);
});
