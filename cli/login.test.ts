import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
	configDir,
	credentialsPath,
	loadCredentials,
	pickServer,
	saveServerCredentials,
	type ServerCredentials
} from './credentials.ts';
import {
	decidePoll,
	describeNetworkError,
	displayName,
	isInsecureServer,
	normalizeServer,
	parseDeviceAuthorization,
	parseRetryAfter,
	resolveEndpoints,
	retryDelay
} from './device-flow.ts';
import { createProgress, formatTimeLeft, statusLine } from './progress.ts';
import { loginHint, parseCommand, toCredentials, UsageError, whoamiDetails } from './login.ts';

describe('decidePoll (RFC 8628 §3.5)', () => {
	it('returns the tokens on success', () => {
		const body = { access_token: 'a', token_type: 'Bearer', expires_in: 3600, refresh_token: 'r', scope: 'read' };
		expect(decidePoll({ status: 200, body }, 5)).toEqual({ kind: 'success', tokens: body });
	});

	it('keeps waiting on authorization_pending and reports the stage', () => {
		const body = { error: 'authorization_pending', error_description: 'waiting for approval' };
		expect(decidePoll({ status: 400, body }, 5)).toEqual({ kind: 'wait', interval: 5, stage: 'waiting for approval' });
	});

	it('keeps waiting without a stage when the server names none', () => {
		expect(decidePoll({ status: 400, body: { error: 'authorization_pending' } }, 7)).toEqual({ kind: 'wait', interval: 7 });
	});

	it('adds 5 seconds to the interval on slow_down', () => {
		const d = decidePoll({ status: 400, body: { error: 'slow_down' } }, 5);
		expect(d).toEqual({ kind: 'wait', interval: 10, slowDown: true });
		// and again: the increase accumulates for all later polls
		expect(decidePoll({ status: 400, body: { error: 'slow_down' } }, 10)).toMatchObject({ interval: 15 });
	});

	it('stops on access_denied with the server description', () => {
		const body = { error: 'access_denied', error_description: 'denied at ORCID' };
		expect(decidePoll({ status: 400, body }, 5)).toEqual({ kind: 'fail', error: 'access_denied', description: 'denied at ORCID' });
	});

	it('stops on expired_token, invalid_grant and invalid_client', () => {
		expect(decidePoll({ status: 400, body: { error: 'expired_token' } }, 5)).toEqual({ kind: 'fail', error: 'expired_token' });
		expect(decidePoll({ status: 400, body: { error: 'invalid_grant' } }, 5)).toMatchObject({ kind: 'fail', error: 'invalid_grant' });
		expect(decidePoll({ status: 401, body: { error: 'invalid_client' } }, 5)).toMatchObject({ kind: 'fail', error: 'invalid_client' });
	});

	it('retries on server errors, rate limits and non-JSON answers', () => {
		expect(decidePoll({ status: 503, body: { error: 'temporarily_unavailable' } }, 5)).toEqual({
			kind: 'retry',
			reason: '503 temporarily_unavailable'
		});
		expect(decidePoll({ status: 429, body: { error: 'too_many_requests' }, retryAfter: 30 }, 5)).toMatchObject({
			kind: 'retry',
			retryAfter: 30
		});
		expect(decidePoll({ status: 502, body: undefined }, 5)).toEqual({ kind: 'retry', reason: 'HTTP 502' });
	});

	it('fails on a 200 without tokens', () => {
		expect(decidePoll({ status: 200, body: { hello: 1 } }, 5)).toMatchObject({ kind: 'fail', error: 'invalid_response' });
	});
});

describe('retryDelay', () => {
	it('starts at the interval and doubles, capped at a minute', () => {
		expect([1, 2, 3, 4, 5, 6].map((n) => retryDelay(n, 5))).toEqual([5, 10, 20, 40, 60, 60]);
	});
	it('never goes below the interval or Retry-After', () => {
		expect(retryDelay(1, 90)).toBe(90);
		expect(retryDelay(1, 5, 30)).toBe(30);
	});
	it('reads Retry-After seconds only', () => {
		expect(parseRetryAfter('12')).toBe(12);
		expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBeUndefined();
		expect(parseRetryAfter(null)).toBeUndefined();
	});
});

describe('time left and the status line', () => {
	it('formats m:ss, rounding up', () => {
		expect(formatTimeLeft(600_000)).toBe('10:00');
		expect(formatTimeLeft(61_000)).toBe('1:01');
		expect(formatTimeLeft(59_001)).toBe('1:00');
		expect(formatTimeLeft(9_000)).toBe('0:09');
		expect(formatTimeLeft(0)).toBe('0:00');
		expect(formatTimeLeft(-5_000)).toBe('0:00');
	});

	it('capitalizes the stage and fits the terminal width', () => {
		expect(statusLine('waiting for approval', 61_000)).toBe('Waiting for approval · 1:01 left');
		const cut = statusLine('waiting for the code to be entered', 61_000, 20);
		expect(cut.length).toBe(19);
		expect(cut.endsWith('…')).toBe(true);
	});
});

function fakeStream(isTTY: boolean) {
	const chunks: string[] = [];
	return { chunks, stream: { isTTY, columns: 80, write: (s: string) => (chunks.push(s), true) } };
}

describe('createProgress', () => {
	it('prints one line per stage change when not a terminal', () => {
		const { chunks, stream } = fakeStream(false);
		const p = createProgress(stream, 600_000, () => 0);
		p.setStage('waiting for the code to be entered');
		p.setStage('waiting for the code to be entered');
		p.setStage('waiting for approval');
		p.stop();
		expect(chunks).toEqual(['waiting for the code to be entered (10:00 left)\n', 'waiting for approval (10:00 left)\n']);
	});

	it('rewrites one line in place on a terminal and clears it at the end', () => {
		const { chunks, stream } = fakeStream(true);
		const p = createProgress(stream, 90_000, () => 0);
		p.setStage('waiting for approval');
		p.stop();
		expect(chunks).toEqual(['\r\x1b[2KWaiting for approval · 1:30 left', '\r\x1b[2K']);
		expect(chunks.join('')).not.toContain('\n');
	});
});

describe('parseCommand', () => {
	it('defaults to a login at localhost with the demo client', () => {
		expect(parseCommand([], {})).toEqual({ kind: 'login', server: 'http://localhost:3000', clientId: 'demo-cli', qr: true });
	});

	it('takes the server from DOORCODE_SERVER, and --server over it', () => {
		expect(parseCommand([], { DOORCODE_SERVER: 'https://auth.example/' })).toMatchObject({ server: 'https://auth.example' });
		expect(parseCommand(['--server', 'http://h:1'], { DOORCODE_SERVER: 'https://auth.example' })).toMatchObject({
			server: 'http://h:1'
		});
	});

	it('reads --client, --scope and --no-qr', () => {
		expect(parseCommand(['--client', 'acme', '--scope', '  read   write ', '--no-qr'], {})).toEqual({
			kind: 'login',
			server: 'http://localhost:3000',
			clientId: 'acme',
			scope: 'read write',
			qr: false
		});
		expect(parseCommand(['--scope', ' '], {})).not.toHaveProperty('scope');
	});

	it('knows whoami and help', () => {
		expect(parseCommand(['whoami'], {})).toEqual({ kind: 'whoami' });
		expect(parseCommand(['whoami', '--server', 'http://h:1/'], {})).toEqual({ kind: 'whoami', server: 'http://h:1' });
		expect(parseCommand(['--help'], {})).toEqual({ kind: 'help' });
		expect(parseCommand(['whoami', '-h'], {})).toEqual({ kind: 'help' });
	});

	it('refuses unknown flags, commands and bad servers', () => {
		expect(() => parseCommand(['--bogus'], {})).toThrow(UsageError);
		expect(() => parseCommand(['signout'], {})).toThrow(/unknown command/);
		expect(parseCommand(['logout'], {})).toEqual({ kind: 'logout' });
		expect(() => parseCommand(['logout', '--client', 'x'], {})).toThrow(/does not apply to logout/);
		expect(() => parseCommand(['whoami', 'extra'], {})).toThrow(/unexpected argument/);
		expect(() => parseCommand(['whoami', '--scope', 'x'], {})).toThrow(/does not apply/);
		expect(() => parseCommand(['--server', 'localhost:3000'], {})).toThrow(UsageError);
		expect(() => parseCommand(['--server', 'not a url'], {})).toThrow(UsageError);
		expect(() => parseCommand(['--client', ''], {})).toThrow(UsageError);
	});
});

describe('servers and endpoints', () => {
	it('normalizes the server to origin plus path without trailing slash', () => {
		expect(normalizeServer('http://localhost:3000/')).toBe('http://localhost:3000');
		expect(normalizeServer('HTTPS://Auth.Example:443/x/?q#f')).toBe('https://auth.example/x');
	});

	it('warns only for plain http off loopback', () => {
		expect(isInsecureServer('http://localhost:3000')).toBe(false);
		expect(isInsecureServer('http://127.0.0.1:3000')).toBe(false);
		expect(isInsecureServer('http://[::1]:3000')).toBe(false);
		expect(isInsecureServer('https://auth.example')).toBe(false);
		expect(isInsecureServer('http://auth.example')).toBe(true);
	});

	it('uses metadata endpoints and falls back to /oauth/ for missing ones', () => {
		expect(
			resolveEndpoints('http://s', {
				device_authorization_endpoint: 'http://s/da',
				token_endpoint: 'relative/ignored',
				revocation_endpoint: 'http://s/revoke'
			})
		).toEqual({
			device_authorization_endpoint: 'http://s/da',
			token_endpoint: 'http://s/oauth/token',
			userinfo_endpoint: 'http://s/oauth/userinfo',
			revocation_endpoint: 'http://s/revoke'
		});
		expect(resolveEndpoints('http://s', undefined)).not.toHaveProperty('revocation_endpoint');
	});

	it('applies the RFC 8628 §3.2 defaults to a device authorization response', () => {
		const d = parseDeviceAuthorization({ device_code: 'd', user_code: 'BCDF-GHJK', verification_uri: 'http://s/device' });
		expect(d).toMatchObject({ interval: 5, expires_in: 600 });
		expect(d).not.toHaveProperty('verification_uri_complete');
		expect(() => parseDeviceAuthorization({ device_code: 'd' })).toThrow(/user_code/);
	});

	it('describes network errors briefly', () => {
		const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
		expect(describeNetworkError(refused)).toBe('connection refused');
		expect(describeNetworkError(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe('timed out');
	});
});

describe('who is logged in', () => {
	it('greets by name, else by sub', () => {
		expect(displayName({ sub: 'orcid:1', name: 'Ada' })).toBe('Ada');
		expect(displayName({ sub: 'orcid:1', name: ' ' })).toBe('orcid:1');
		expect(displayName({ sub: 'clerk:user_2' })).toBe('clerk:user_2');
	});

	it('lists sub, provider, email when known, scope and client_id', () => {
		const lines = whoamiDetails(
			{ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', scope: 'read', client_id: 'demo-cli' },
			{ client_id: 'demo-cli', scope: 'read write' },
			'http://s'
		);
		expect(lines).toEqual([
			'  sub:       orcid:0000-0002-1825-0097',
			'  provider:  orcid',
			'  scope:     read',
			'  client_id: demo-cli',
			'  server:    http://s'
		]);
		const withEmail = whoamiDetails({ sub: 'email:a@b.example', email: 'a@b.example' }, { client_id: 'c' }, 'http://s');
		expect(withEmail).toContain('  email:     a@b.example');
		expect(withEmail).toContain('  provider:  email');
	});

	it('suggests the login command, quoting when needed', () => {
		expect(loginHint('http://s:1')).toBe('npm run login -- --server http://s:1');
		expect(loginHint('http://s:1', 'acme cli')).toBe("npm run login -- --server http://s:1 --client 'acme cli'");
	});
});

describe('toCredentials', () => {
	const endpoints = {
		device_authorization_endpoint: 'http://s/oauth/device_authorization',
		token_endpoint: 'http://s/oauth/token',
		userinfo_endpoint: 'http://s/oauth/userinfo',
		revocation_endpoint: 'http://s/oauth/revoke'
	};
	it('stores what is needed to call and refresh, with an absolute expiry', () => {
		const c = toCredentials(
			{ access_token: 'a', token_type: 'Bearer', expires_in: 60, refresh_token: 'r' },
			'demo-cli',
			'read',
			endpoints,
			1000
		);
		expect(c).toEqual({
			client_id: 'demo-cli',
			access_token: 'a',
			refresh_token: 'r',
			token_type: 'Bearer',
			scope: 'read', // RFC 6749 §5.1: omitted scope means the requested one
			expires_at: 61_000,
			token_endpoint: 'http://s/oauth/token',
			userinfo_endpoint: 'http://s/oauth/userinfo',
			revocation_endpoint: 'http://s/oauth/revoke',
			saved_at: 1000
		});
	});
});

describe('credentials file', () => {
	let home: string;
	let env: Record<string, string>;
	const creds = (token: string, saved_at?: number): ServerCredentials => ({
		client_id: 'demo-cli',
		access_token: token,
		token_type: 'Bearer',
		expires_at: 1,
		token_endpoint: 'http://s/oauth/token',
		userinfo_endpoint: 'http://s/oauth/userinfo',
		...(saved_at ? { saved_at } : {})
	});

	beforeEach(async () => {
		home = await mkdtemp(join(tmpdir(), 'doorcode-cli-'));
		env = { XDG_CONFIG_HOME: join(home, 'config'), HOME: home };
	});
	afterEach(async () => {
		await rm(home, { recursive: true, force: true });
	});

	it('lives under XDG_CONFIG_HOME, or ~/.config when it is unset or relative', () => {
		expect(credentialsPath(env)).toBe(join(home, 'config', 'doorcode', 'credentials.json'));
		expect(configDir({ HOME: home })).toBe(join(home, '.config', 'doorcode'));
		expect(configDir({ HOME: home, XDG_CONFIG_HOME: 'relative' })).toBe(join(home, '.config', 'doorcode'));
	});

	it('creates the directory 0700 and the file 0600, even with a permissive umask', async () => {
		const old = process.umask(0);
		try {
			await saveServerCredentials('http://s', creds('a'), env);
		} finally {
			process.umask(old);
		}
		expect((await stat(configDir(env))).mode & 0o777).toBe(0o700);
		expect((await stat(credentialsPath(env))).mode & 0o777).toBe(0o600);
		// the temp file was renamed away
		expect(await readdir(configDir(env))).toEqual(['credentials.json']);
	});

	it('tightens an existing loose directory and file', async () => {
		await mkdir(configDir(env), { recursive: true, mode: 0o755 });
		await chmod(configDir(env), 0o755);
		await writeFile(credentialsPath(env), JSON.stringify({ servers: {} }), { mode: 0o644 });
		await chmod(credentialsPath(env), 0o644);
		await loadCredentials(env);
		expect((await stat(credentialsPath(env))).mode & 0o777).toBe(0o600);
		await saveServerCredentials('http://s', creds('a'), env);
		expect((await stat(configDir(env))).mode & 0o777).toBe(0o700);
		expect((await stat(credentialsPath(env))).mode & 0o777).toBe(0o600);
	});

	it('keeps several servers side by side and replaces one on re-login', async () => {
		await saveServerCredentials('http://a', creds('a1', 1), env);
		await saveServerCredentials('http://b', creds('b1', 2), env);
		await saveServerCredentials('http://a', creds('a2', 3), env);
		const file = JSON.parse(await readFile(credentialsPath(env), 'utf8'));
		expect(Object.keys(file.servers).sort()).toEqual(['http://a', 'http://b']);
		expect(file.servers['http://a'].access_token).toBe('a2');
		expect(file.servers['http://b'].access_token).toBe('b1');
	});

	it('picks the requested server, else the most recently saved', async () => {
		await saveServerCredentials('http://a', creds('a', 5), env);
		await saveServerCredentials('http://b', creds('b', 2), env);
		const file = await loadCredentials(env);
		expect(pickServer(file)?.server).toBe('http://a');
		expect(pickServer(file, 'http://b')?.creds.access_token).toBe('b');
		expect(pickServer(file, 'http://c')).toBeUndefined();
		expect(pickServer({ servers: {} })).toBeUndefined();
	});

	it('reads a missing file as empty and refuses a corrupt one', async () => {
		expect(await loadCredentials(env)).toEqual({ servers: {} });
		await mkdir(configDir(env), { recursive: true });
		await writeFile(credentialsPath(env), '{oops');
		await expect(loadCredentials(env)).rejects.toThrow(/not valid JSON/);
		await writeFile(credentialsPath(env), '[]');
		await expect(loadCredentials(env)).rejects.toThrow(/"servers"/);
	});
});

describe('keeping a login alive', () => {
	it('refreshes when the access token has a minute or less left', async () => {
		const { needsRefresh } = await import('./session.ts');
		expect(needsRefresh({ expires_at: 1_000_000 }, 1_000_000 - 61_000)).toBe(false);
		expect(needsRefresh({ expires_at: 1_000_000 }, 1_000_000 - 60_000)).toBe(true);
		expect(needsRefresh({ expires_at: 1_000_000 }, 2_000_000)).toBe(true);
	});

	it('the credentials lock serialises refreshes and is taken over when its holder died', async () => {
		const { mkdtempSync, writeFileSync, existsSync } = await import('node:fs');
		const { tmpdir } = await import('node:os');
		const { join } = await import('node:path');
		const { withCredentialsLock } = await import('./session.ts');
		const { credentialsPath } = await import('./credentials.ts');
		const env = { XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'doorcode-lock-')) };
		const order: string[] = [];
		await Promise.all([
			withCredentialsLock(env, async () => {
				order.push('a-in');
				await new Promise((r) => setTimeout(r, 100));
				order.push('a-out');
			}),
			new Promise((r) => setTimeout(r, 10)).then(() => withCredentialsLock(env, async () => void order.push('b')))
		]);
		expect(order).toEqual(['a-in', 'a-out', 'b']);
		const lock = `${credentialsPath(env)}.lock`;
		expect(existsSync(lock)).toBe(false);
		writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 1, at: Date.now() }));
		expect(await withCredentialsLock(env, async () => 'taken over')).toBe('taken over');
	});

	it('forgetting one server keeps the others', async () => {
		const { mkdtempSync } = await import('node:fs');
		const { tmpdir } = await import('node:os');
		const { join } = await import('node:path');
		const { loadCredentials, removeServerCredentials, saveServerCredentials } = await import('./credentials.ts');
		const env = { XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'doorcode-forget-')) };
		const creds = { client_id: 'c', access_token: 'a', token_type: 'Bearer', expires_at: 1, token_endpoint: 't', userinfo_endpoint: 'u' };
		await saveServerCredentials('https://one.example', creds, env);
		await saveServerCredentials('https://two.example', creds, env);
		expect(await removeServerCredentials('https://one.example', env)).toBe(true);
		expect(Object.keys((await loadCredentials(env)).servers)).toEqual(['https://two.example']);
	});
});
