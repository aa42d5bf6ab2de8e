import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeProof, proofKey } from '../support/dpop.ts';
import { DEVICE_GRANT } from '../support/oauth.ts';
import { testServerEnv } from '../support/servers.ts';
import { freePort } from '../support/spawned-server.ts';

/**
 * Under `vite dev` there is no server.js and so no fast path: every /oauth/* request is
 * served by the SvelteKit routes. They answer exactly as the built server does.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dev: ChildProcess;
let origin: string;
let output = '';

test.describe.configure({ mode: 'serial', timeout: 120_000 });

test.beforeAll(async () => {
	const port = await freePort();
	origin = `http://localhost:${port}`;
	mkdirSync(`${ROOT}.e2e`, { recursive: true });
	for (const suffix of ['', '-wal', '-shm']) rmSync(`${ROOT}.e2e/vite-dev.db${suffix}`, { force: true });
	dev = spawn(process.execPath, [`${ROOT}node_modules/vite/bin/vite.js`, 'dev', '--port', String(port), '--strictPort', '--host', '127.0.0.1'], {
		cwd: ROOT,
		env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...testServerEnv('vite-dev', port), RATE_LIMITS: 'off' },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	dev.stdout?.on('data', (chunk) => (output += chunk));
	dev.stderr?.on('data', (chunk) => (output += chunk));
	const deadline = Date.now() + 90_000;
	while (Date.now() < deadline) {
		try {
			const response = await fetch(`${origin}/.well-known/oauth-authorization-server`, { signal: AbortSignal.timeout(10_000) });
			await response.arrayBuffer();
			if (response.status === 200) return;
		} catch {
			// Vite is still starting or compiling the first request.
		}
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
	throw new Error(`vite dev did not serve the metadata:\n${output.slice(-4000)}`);
});

test.afterAll(async () => {
	if (dev && dev.exitCode === null) {
		dev.kill('SIGTERM');
		await new Promise((resolve) => dev.once('exit', resolve));
	}
});

async function post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
	const response = await fetch(`${origin}${path}`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
		body: new URLSearchParams(fields)
	});
	return { status: response.status, headers: response.headers, body: await response.json() };
}

test('under vite dev, the SvelteKit routes run the device flow with the same answers and headers', async () => {
	const metadata = await (await fetch(`${origin}/.well-known/oauth-authorization-server`)).json();
	expect(metadata).toMatchObject({ issuer: origin, token_endpoint: `${origin}/oauth/token` });

	const code = await post('/oauth/device_authorization', { client_id: 'demo-cli', scope: 'read' });
	expect(code.status).toBe(200);
	expect(code.body).toMatchObject({ verification_uri: `${origin}/device`, expires_in: 600, interval: 1 });
	expect(code.headers.get('cache-control')).toBe('no-store');
	expect(code.headers.get('referrer-policy')).toBe('no-referrer');
	expect(code.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

	const pending = await post('/oauth/token', { grant_type: DEVICE_GRANT, device_code: code.body.device_code, client_id: 'demo-cli' });
	expect(pending).toMatchObject({
		status: 400,
		body: { error: 'authorization_pending', error_description: 'Waiting for the code to be entered in a browser.' }
	});
	const replayedTooSoon = await post('/oauth/token', { grant_type: DEVICE_GRANT, device_code: code.body.device_code, client_id: 'demo-cli' });
	expect(replayedTooSoon.body).toEqual({ error: 'slow_down', error_description: 'Polling too fast: wait 6 seconds between requests.' });
});

test('under vite dev, the SvelteKit routes check DPoP proofs as the fast path does: a bound code answers only its key', async () => {
	const key = await proofKey();
	const proof = (path: string) => makeProof(key, { htm: 'POST', htu: `${origin}${path}` });
	const code = await post('/oauth/device_authorization', { client_id: 'demo-cli' }, { DPoP: await proof('/oauth/device_authorization') });
	expect(code.status).toBe(200);
	const poll = { grant_type: DEVICE_GRANT, device_code: code.body.device_code, client_id: 'demo-cli' };
	expect((await post('/oauth/token', poll)).body).toEqual({
		error: 'invalid_dpop_proof',
		error_description: 'This device code is bound to a DPoP key: poll with a DPoP proof signed by it.'
	});
	expect((await post('/oauth/token', poll, { DPoP: await proof('/oauth/token') })).body.error).toBe('authorization_pending');
});

test('under vite dev, bad input still gets RFC 6749 JSON: unknown client, oversized body, wrong method, no token', async () => {
	expect(await post('/oauth/device_authorization', { client_id: 'nobody' })).toMatchObject({
		status: 401,
		body: { error: 'invalid_client', error_description: 'Unknown or disabled client.' }
	});
	const huge = await post('/oauth/token', { grant_type: DEVICE_GRANT, device_code: 'x'.repeat(20_000), client_id: 'demo-cli' });
	expect(huge).toMatchObject({ status: 413, body: { error: 'invalid_request', error_description: 'The request body is larger than 16384 bytes.' } });
	const get = await fetch(`${origin}/oauth/token`);
	expect(get.status).toBe(405);
	expect(await get.json()).toEqual({ error: 'invalid_request', error_description: 'Use POST for this endpoint.' });
	const userinfo = await fetch(`${origin}/oauth/userinfo`);
	expect(userinfo.status).toBe(401);
	expect(userinfo.headers.get('www-authenticate')).toBe('Bearer realm="doorcode"');
});
