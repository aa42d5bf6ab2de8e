import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile, chmod, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
	configDir,
	credentialsPath,
	loadCredentials,
	pickServer,
	removeServerCredentials,
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
import { createDpopKey, dpopProof, fromStored, isDpopTokenType } from './dpop.ts';
import { loginHint, parseCommand, toCredentials, UsageError, whoamiDetails } from './login.ts';
import { authorizationUrl, browserCommand, canOpenBrowser, listenOnLoopback, pkcePair, readCallback } from './loopback-flow.ts';
import { freshCredentials, lockPath, logout, needsRefresh, refreshedMeanwhile, STALE_LOCK_MS, withCredentialsLock } from './session.ts';

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
		expect(parseCommand([], {})).toEqual({ kind: 'login', server: 'http://localhost:3000', clientId: 'demo-cli', qr: true, device: false });
	});

	it('takes the server from DOORCODE_SERVER, and --server over it', () => {
		expect(parseCommand([], { DOORCODE_SERVER: 'https://auth.example/' })).toMatchObject({ server: 'https://auth.example' });
		expect(parseCommand(['--server', 'http://h:1'], { DOORCODE_SERVER: 'https://auth.example' })).toMatchObject({
			server: 'http://h:1'
		});
	});

	it('reads --client, --scope, --device and --no-qr', () => {
		expect(parseCommand(['--client', 'acme', '--scope', '  read   write ', '--device', '--no-qr'], {})).toEqual({
			kind: 'login',
			server: 'http://localhost:3000',
			clientId: 'acme',
			scope: 'read write',
			qr: false,
			device: true
		});
		expect(() => parseCommand(['whoami', '--device'], {})).toThrow(/does not apply to whoami/);
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

	it('knows the authorization endpoint only from metadata that names its issuer, and whether answers carry iss', () => {
		const metadata = { issuer: 'http://s', authorization_endpoint: 'http://s/oauth/authorize', authorization_response_iss_parameter_supported: true };
		expect(resolveEndpoints('http://s', metadata)).toMatchObject(metadata);
		expect(resolveEndpoints('http://s', { authorization_endpoint: 'http://s/oauth/authorize' })).not.toHaveProperty('authorization_endpoint');
		expect(resolveEndpoints('http://s', { issuer: 'http://s' })).not.toHaveProperty('authorization_endpoint');
		expect(resolveEndpoints('http://s', { ...metadata, authorization_response_iss_parameter_supported: undefined })).toMatchObject({
			authorization_response_iss_parameter_supported: false
		});
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
		const key = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' };
		const c = toCredentials({ access_token: 'a', token_type: 'DPoP', expires_in: 60, refresh_token: 'r' }, 'demo-cli', 'read', endpoints, key, 1000);
		expect(c).toEqual({
			client_id: 'demo-cli',
			access_token: 'a',
			refresh_token: 'r',
			token_type: 'DPoP',
			scope: 'read', // RFC 6749 §5.1: omitted scope means the requested one
			expires_at: 61_000,
			token_endpoint: 'http://s/oauth/token',
			userinfo_endpoint: 'http://s/oauth/userinfo',
			revocation_endpoint: 'http://s/oauth/revoke',
			saved_at: 1000,
			dpop_key: key
		});
	});
});

describe('DPoP (RFC 9449)', () => {
	/** What the server checks of a proof: signed by the public key it embeds, typ dpop+jwt. */
	const verified = async (proof: string) => {
		const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
		return { payload, jwk: protectedHeader.jwk!, jkt: await calculateJwkThumbprint(protectedHeader.jwk!) };
	};

	it('each login makes a new ES256 key, kept as a private JWK; its proofs embed the public half only and name the request', async () => {
		const key = await createDpopKey();
		expect(key.stored).toMatchObject({ kty: 'EC', crv: 'P-256', d: expect.any(String) });
		expect((await createDpopKey()).stored.d).not.toBe(key.stored.d);
		const before = Math.floor(Date.now() / 1000);
		const [first, second] = await Promise.all([
			dpopProof(key, 'POST', 'http://localhost:3000/oauth/token?unused=1#frag'),
			dpopProof(key, 'POST', 'http://localhost:3000/oauth/token')
		]);
		const proof = await verified(first);
		expect(proof.jwk).not.toHaveProperty('d');
		expect(proof.payload).toMatchObject({ htm: 'POST', htu: 'http://localhost:3000/oauth/token', jti: expect.any(String) });
		expect(proof.payload.iat).toBeGreaterThanOrEqual(before);
		expect(proof.payload).not.toHaveProperty('ath');
		expect((await verified(second)).payload.jti).not.toBe(proof.payload.jti);
		const atResource = await verified(await dpopProof(key, 'GET', 'http://localhost:3000/oauth/userinfo', 'dca_token'));
		expect(atResource.payload).toMatchObject({ htm: 'GET', ath: createHash('sha256').update('dca_token').digest('base64url') });
	});

	it('a stored key signs as the key it was stored from; anything else stored is refused', async () => {
		const key = await createDpopKey();
		const again = await fromStored(JSON.parse(JSON.stringify(key.stored)));
		const thumbprint = async (k: typeof key) => (await verified(await dpopProof(k, 'POST', 'http://s/oauth/token'))).jkt;
		expect(await thumbprint(again)).toBe(await thumbprint(key));
		await expect(fromStored({ kty: 'EC', crv: 'P-256', x: key.publicJwk.x, y: key.publicJwk.y })).rejects.toThrow(/not an ES256 private key/);
		await expect(fromStored({ kty: 'oct', k: 'c2VjcmV0' })).rejects.toThrow(/not an ES256 private key/);
	});

	it('only a DPoP token type means the access token is bound', () => {
		expect([isDpopTokenType('DPoP'), isDpopTokenType('dpop'), isDpopTokenType('Bearer'), isDpopTokenType(undefined)]).toEqual([true, true, false, false]);
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

// A token endpoint that rotates refresh tokens and, like doorcode (RFC 9700),
// ends the grant when a retired one comes back; plus RFC 7009 revocation.
type FakeServer = { url: string; refreshes: number; reuseDetected: boolean; revoked: string[]; proofs: string[]; close: () => Promise<void> };

async function fakeServer(firstRefreshToken: string): Promise<FakeServer> {
	let live: string | undefined = firstRefreshToken;
	const retired = new Set<string>();
	const state = { refreshes: 0, reuseDetected: false, revoked: [] as string[], proofs: [] as string[] };
	const server = createServer((req, res) => void answer(req, res));
	async function answer(req: IncomingMessage, res: ServerResponse) {
		let text = '';
		for await (const chunk of req) text += chunk;
		const form = new URLSearchParams(text);
		const reply = (status: number, body: object) => {
			res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
		};
		if (typeof req.headers.dpop === 'string') state.proofs.push(req.headers.dpop);
		if (req.url === '/oauth/revoke') {
			state.revoked.push(`${form.get('token_type_hint')}:${form.get('token')}`);
			return reply(200, {});
		}
		const presented = form.get('refresh_token') ?? '';
		state.refreshes += 1;
		if (retired.has(presented)) {
			state.reuseDetected = true;
			live = undefined;
			return reply(400, { error: 'invalid_grant', error_description: 'refresh token reused' });
		}
		if (presented !== live) return reply(400, { error: 'invalid_grant' });
		retired.add(presented);
		live = `r${state.refreshes + 1}`;
		reply(200, { access_token: `a${state.refreshes + 1}`, token_type: 'Bearer', expires_in: 3600, refresh_token: live, scope: 'read' });
	}
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	return Object.assign(state, {
		url,
		close: () => new Promise<void>((resolve) => server.close(() => resolve()))
	}) as FakeServer;
}

function storedLogin(url: string, overrides: Partial<ServerCredentials> = {}): ServerCredentials {
	return {
		client_id: 'demo-cli',
		access_token: 'a1',
		refresh_token: 'r1',
		token_type: 'Bearer',
		scope: 'read',
		expires_at: Date.now() - 1000,
		token_endpoint: `${url}/oauth/token`,
		userinfo_endpoint: `${url}/oauth/userinfo`,
		revocation_endpoint: `${url}/oauth/revoke`,
		saved_at: 1,
		...overrides
	};
}

describe('keeping a login alive', () => {
	let env: Record<string, string>;
	let server: FakeServer;

	beforeEach(async () => {
		env = { XDG_CONFIG_HOME: await mkdtemp(join(tmpdir(), 'doorcode-session-')) };
		server = await fakeServer('r1');
	});
	afterEach(async () => {
		await server.close();
		await rm(env.XDG_CONFIG_HOME, { recursive: true, force: true });
	});

	it('refreshes when the access token has a minute or less left', () => {
		expect(needsRefresh({ expires_at: 1_000_000 }, 1_000_000 - 61_000)).toBe(false);
		expect(needsRefresh({ expires_at: 1_000_000 }, 1_000_000 - 60_000)).toBe(true);
		expect(needsRefresh({ expires_at: 1_000_000 }, 2_000_000)).toBe(true);
	});

	it('after waiting for the lock, uses tokens another process got unless they are the refused ones', () => {
		const now = 1_000_000;
		const before = storedLogin('http://s', { expires_at: now - 1000 });
		const theirs = storedLogin('http://s', { access_token: 'a2', refresh_token: 'r2', expires_at: now + 3_600_000 });
		expect(refreshedMeanwhile(theirs, before, undefined, now)).toBe(true);
		expect(refreshedMeanwhile(theirs, before, 'a1', now)).toBe(true);
		expect(refreshedMeanwhile(theirs, before, 'a2', now)).toBe(false);
		// A server whose tokens live under a minute: a rotated pair not yet expired is still theirs to share.
		expect(refreshedMeanwhile({ ...theirs, expires_at: now + 2000 }, before, undefined, now)).toBe(true);
		expect(refreshedMeanwhile({ ...theirs, expires_at: now - 1 }, before, undefined, now)).toBe(false);
		// Nobody refreshed: the stored token is as close to expiry as it was.
		expect(refreshedMeanwhile(before, before, undefined, now)).toBe(false);
		expect(refreshedMeanwhile({ ...before, expires_at: now + 30_000 }, before, undefined, now)).toBe(false);
	});

	it('leaves a live access token alone', async () => {
		await saveServerCredentials(server.url, storedLogin(server.url, { expires_at: Date.now() + 3_600_000 }), env);
		const fresh = await freshCredentials(server.url, env);
		expect(fresh.ok && fresh.creds.access_token).toBe('a1');
		expect(server.refreshes).toBe(0);
	});

	it('refreshes an expired access token and stores the rotated pair, mode 0600, before returning it', async () => {
		await saveServerCredentials(server.url, storedLogin(server.url), env);
		const fresh = await freshCredentials(server.url, env);
		expect(fresh.ok && fresh.creds.access_token).toBe('a2');
		const stored = (await loadCredentials(env)).servers[server.url];
		expect([stored.access_token, stored.refresh_token]).toEqual(['a2', 'r2']);
		expect(stored.expires_at).toBeGreaterThan(Date.now() + 3_500_000);
		expect((await stat(credentialsPath(env))).mode & 0o777).toBe(0o600);
		await expect(stat(lockPath(env))).rejects.toThrow();
	});

	it('refreshes a live access token the server refused', async () => {
		await saveServerCredentials(server.url, storedLogin(server.url, { expires_at: Date.now() + 3_600_000 }), env);
		const fresh = await freshCredentials(server.url, env, { rejected: 'a1' });
		expect(fresh.ok && fresh.creds.access_token).toBe('a2');
	});

	it('two processes refreshing at once refresh once, so reuse detection never fires', async () => {
		await saveServerCredentials(server.url, storedLogin(server.url), env);
		const [one, two] = await Promise.all([freshCredentials(server.url, env), freshCredentials(server.url, env)]);
		expect(one.ok && two.ok && [one.creds.access_token, two.creds.access_token]).toEqual(['a2', 'a2']);
		expect(server.refreshes).toBe(1);
		expect(server.reuseDetected).toBe(false);
	});

	it('a waiter behind a live holder re-reads the file and uses its tokens instead of refreshing', async () => {
		await saveServerCredentials(server.url, storedLogin(server.url), env);
		// Another live process (this one's pid is certainly alive) holds a fresh lock...
		await writeFile(lockPath(env), JSON.stringify({ pid: process.pid, at: Date.now() }));
		const waiting = freshCredentials(server.url, env);
		await new Promise((resolve) => setTimeout(resolve, 200));
		// ...refreshes, saves, and lets go.
		await saveServerCredentials(
			server.url,
			storedLogin(server.url, { access_token: 'theirs', refresh_token: 'r-theirs', expires_at: Date.now() + 3_600_000 }),
			env
		);
		await rm(lockPath(env));
		const fresh = await waiting;
		expect(fresh.ok && fresh.creds.access_token).toBe('theirs');
		expect(server.refreshes).toBe(0);
	});

	it('takes over a lock whose process is gone, or that is too old, or that was never written', async () => {
		const deadPid = 2 ** 22 + 1; // above Linux's pid_max
		await mkdir(configDir(env), { recursive: true });
		await writeFile(lockPath(env), JSON.stringify({ pid: deadPid, at: Date.now() }));
		expect(await withCredentialsLock(env, async () => 'dead holder')).toBe('dead holder');
		await writeFile(lockPath(env), JSON.stringify({ pid: process.pid, at: Date.now() - STALE_LOCK_MS - 1 }));
		expect(await withCredentialsLock(env, async () => 'old lock')).toBe('old lock');
		await writeFile(lockPath(env), '');
		const old = new Date(Date.now() - STALE_LOCK_MS - 1000);
		await utimes(lockPath(env), old, old);
		expect(await withCredentialsLock(env, async () => 'empty lock')).toBe('empty lock');
		await expect(stat(lockPath(env))).rejects.toThrow();
	});

	it('serialises holders and never deletes a lock that is no longer its own', async () => {
		const order: string[] = [];
		await Promise.all([
			withCredentialsLock(env, async () => {
				order.push('a-in');
				await new Promise((resolve) => setTimeout(resolve, 100));
				order.push('a-out');
			}),
			new Promise((resolve) => setTimeout(resolve, 10)).then(() => withCredentialsLock(env, async () => void order.push('b')))
		]);
		expect(order).toEqual(['a-in', 'a-out', 'b']);
		await withCredentialsLock(env, async () => {
			// Our lock was judged stale and another process took it over.
			await writeFile(lockPath(env), 'someone else');
		});
		expect(await readFile(lockPath(env), 'utf8')).toBe('someone else');
	});

	it('on invalid_grant, forgets that server only and says the login ended', async () => {
		await saveServerCredentials(server.url, storedLogin(server.url, { refresh_token: 'revoked' }), env);
		await saveServerCredentials('https://other.example', storedLogin('https://other.example'), env);
		expect(await freshCredentials(server.url, env)).toEqual({ ok: false, reason: 'ended' });
		expect(Object.keys((await loadCredentials(env)).servers)).toEqual(['https://other.example']);
	});

	it('forgetting one server keeps the others', async () => {
		await saveServerCredentials('https://one.example', storedLogin('https://one.example'), env);
		await saveServerCredentials('https://two.example', storedLogin('https://two.example'), env);
		expect(await removeServerCredentials('https://one.example', env)).toBe(true);
		expect(Object.keys((await loadCredentials(env)).servers)).toEqual(['https://two.example']);
		expect(await removeServerCredentials('https://one.example', env)).toBe(false);
	});

	it('logout revokes the refresh token, then the access token, then forgets that server only', async () => {
		await saveServerCredentials(server.url, storedLogin(server.url), env);
		await saveServerCredentials('https://other.example', storedLogin('https://other.example'), env);
		expect(await logout(server.url, env)).toEqual({ kind: 'revoked' });
		expect(server.revoked).toEqual(['refresh_token:r1', 'access_token:a1']);
		expect(Object.keys((await loadCredentials(env)).servers)).toEqual(['https://other.example']);
	});

	it('logout forgets the tokens even when the server cannot be reached, and says it is unconfirmed', async () => {
		const gone = await fakeServer('r1');
		await gone.close();
		const unreachable = gone.url; // nothing listens there any more
		await saveServerCredentials(unreachable, storedLogin(unreachable), env);
		expect(await logout(unreachable, env)).toEqual({ kind: 'unconfirmed', reason: 'connection refused' });
		expect(await loadCredentials(env)).toEqual({ servers: {} });
		expect(await logout(unreachable, env)).toEqual({ kind: 'not-logged-in' });
	});

	it("with the login's DPoP key stored, every refresh and revocation carries a new proof of it, for that endpoint", async () => {
		const key = await createDpopKey();
		await saveServerCredentials(server.url, storedLogin(server.url, { dpop_key: key.stored }), env);
		expect((await freshCredentials(server.url, env)).ok).toBe(true);
		expect(await logout(server.url, env)).toEqual({ kind: 'revoked' });
		const verifiedProofs = await Promise.all(server.proofs.map((proof) => jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' })));
		const keys = await Promise.all(verifiedProofs.map(({ protectedHeader }) => calculateJwkThumbprint(protectedHeader.jwk!)));
		expect(new Set(keys)).toEqual(new Set([await calculateJwkThumbprint(key.publicJwk)]));
		const proofs = verifiedProofs.map(({ payload }) => payload);
		expect(proofs.map(({ htm, htu }) => `${htm} ${htu}`)).toEqual([
			`POST ${server.url}/oauth/token`,
			`POST ${server.url}/oauth/revoke`,
			`POST ${server.url}/oauth/revoke`
		]);
		expect(new Set(proofs.map(({ jti }) => jti)).size).toBe(3);
	});

	it('logout asks the metadata for the revocation endpoint when none was stored', async () => {
		// Saved as JSON, an undefined field is no field at all.
		const withoutEndpoint = { ...storedLogin(server.url), revocation_endpoint: undefined };
		await saveServerCredentials(server.url, withoutEndpoint, env);
		// The fake server answers every POST and has no metadata, so this is the /oauth/revoke fallback.
		expect(await logout(server.url, env)).toEqual({ kind: 'revoked' });
		expect(server.revoked).toEqual(['refresh_token:r1', 'access_token:a1']);
	});
});

describe('the browser login on this machine (RFC 8252)', () => {
	it('opens a browser only with a local display, never over SSH; macOS and Windows always have one', () => {
		expect(canOpenBrowser({ DISPLAY: ':0' }, 'linux')).toBe(true);
		expect(canOpenBrowser({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux')).toBe(true);
		expect(canOpenBrowser({}, 'linux')).toBe(false);
		expect(canOpenBrowser({}, 'darwin')).toBe(true);
		expect(canOpenBrowser({}, 'win32')).toBe(true);
		expect(canOpenBrowser({ DISPLAY: ':0', SSH_CONNECTION: '192.0.2.9 50000 192.0.2.1 22' }, 'linux')).toBe(false);
		expect(canOpenBrowser({ SSH_TTY: '/dev/pts/1' }, 'darwin')).toBe(false);
	});

	it('opens the URL with $BROWSER when set, else xdg-open, open or start', () => {
		const url = 'http://s/oauth/authorize?a=1&b=2';
		expect(browserCommand(url, { BROWSER: 'firefox:chromium' }, 'linux')).toEqual({ command: 'firefox', args: [url] });
		expect(browserCommand(url, {}, 'linux')).toEqual({ command: 'xdg-open', args: [url] });
		expect(browserCommand(url, {}, 'darwin')).toEqual({ command: 'open', args: [url] });
		expect(browserCommand(url, {}, 'win32')).toEqual({ command: 'cmd', args: ['/c', 'start', '""', 'http://s/oauth/authorize?a=1^&b=2'] });
	});

	it('asks for a code with S256 PKCE, the state, the scope and the DPoP key', () => {
		const { verifier, challenge } = pkcePair();
		expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
		expect(challenge).toBe(createHash('sha256').update(verifier).digest('base64url'));
		const url = new URL(
			authorizationUrl('http://s/oauth/authorize', {
				clientId: 'demo-cli',
				redirectUri: 'http://127.0.0.1:5000/callback',
				state: 'st',
				challenge,
				dpopJkt: 'jkt'
			})
		);
		expect(Object.fromEntries(url.searchParams)).toEqual({
			response_type: 'code',
			client_id: 'demo-cli',
			redirect_uri: 'http://127.0.0.1:5000/callback',
			state: 'st',
			code_challenge: challenge,
			code_challenge_method: 'S256',
			dpop_jkt: 'jkt'
		});
	});

	it("takes the code only from its own server's answer (iss, RFC 9207), and reports an error answer", () => {
		const issuer = { issuer: 'http://s', required: true };
		const answer = (fields: Record<string, string>) => readCallback(new URLSearchParams(fields), issuer);
		expect(answer({ code: 'c', state: 'st', iss: 'http://s' })).toEqual({ ok: true, code: 'c' });
		expect(answer({ code: 'c', state: 'st', iss: 'http://evil' })).toMatchObject({ ok: false, error: 'wrong_issuer' });
		expect(answer({ code: 'c', state: 'st' })).toMatchObject({ ok: false, error: 'wrong_issuer' });
		expect(readCallback(new URLSearchParams({ code: 'c' }), { issuer: 'http://s', required: false })).toEqual({ ok: true, code: 'c' });
		expect(answer({ error: 'access_denied', error_description: 'The person denied the request.', iss: 'http://s' })).toEqual({
			ok: false,
			error: 'access_denied',
			description: 'The person denied the request.'
		});
		expect(answer({ iss: 'http://s' })).toMatchObject({ ok: false, error: 'invalid_response' });
	});

	it('listens on 127.0.0.1 and takes only the answer that carries its state', async () => {
		const listener = await listenOnLoopback('the-state');
		try {
			expect(listener.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
			const base = listener.redirectUri;
			expect((await fetch(`${base}?code=forged&state=other`)).status).toBe(400);
			expect((await fetch(base.replace('/callback', '/favicon.ico'))).status).toBe(404);
			const ok = await fetch(`${base}?code=c&state=the-state&iss=http%3A%2F%2Fs`);
			expect(ok.status).toBe(200);
			expect(await ok.text()).toContain('You can close this tab');
			expect(Object.fromEntries(await listener.answer)).toEqual({ code: 'c', state: 'the-state', iss: 'http://s' });
		} finally {
			listener.close();
		}
	});
});
