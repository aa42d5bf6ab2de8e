import { expect, test, type Browser } from '@playwright/test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import {
	authorizationHeader,
	describe as describeRequest,
	headerValue,
	hostileBody,
	hostileQuery,
	hostileString,
	POST_ONLY_METHOD,
	runProperty,
	SCRIPT_MARKERS,
	send,
	stackTraceIn,
	toWellFormed,
	unreadableFormBody,
	type Answer,
	type Body,
	type HostileRequest
} from '../support/hostile-input.ts';
import { DevIdentityProviderPage, LoginPage, signInAndDecide } from '../support/pages.ts';
import { startServer, type SpawnedServer } from '../support/spawned-server.ts';

/**
 * Hostile input against every JSON route and every form action, on a private server
 * (RATE_LIMITS=off, so only doorcode's answers are under test). fast-check with a fixed
 * seed: a failure prints the seed, the replay path and the smallest failing request.
 * DOORCODE_FUZZ_SEED picks another seed.
 */

test.describe.configure({ mode: 'default' });

const SEED = Number(process.env.DOORCODE_FUZZ_SEED ?? 20_251_123);
const RUNS = 150;
const MAX_OAUTH_BODY = 16 * 1024;
const JOSIAH = 'orcid:0000-0002-1825-0097';
const LAURE = 'orcid:0000-0001-5109-3700';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

let server: SpawnedServer;
/** Laure Haak's device login, completed before any fuzzing: nothing below may change it. */
let victim: { accessToken: string; refreshToken: string; userinfo: unknown; rows: string };
/** Josiah Carberry's browser session (he is an admin here, so /admin?/find gets past its check). */
let josiahSession: string;
/** A code waiting to be entered, for device-login cookies on the confirm actions. */
let pendingUserCode: string;

async function signedInSession(browser: Browser, origin: string): Promise<string> {
	const context = await browser.newContext({ baseURL: origin });
	try {
		const page = await context.newPage();
		await page.goto('/login?return_to=%2Faccount');
		await new LoginPage(page).signInWith('ORCID');
		await new DevIdentityProviderPage(page).signIn('Josiah Carberry');
		await expect(page).toHaveURL(/\/account$/);
		const cookie = (await context.cookies()).find((c) => c.name === 'doorcode_session');
		if (!cookie) throw new Error('no doorcode_session cookie after signing in');
		return cookie.value;
	} finally {
		await context.close();
	}
}

async function postForm(path: string, fields: Record<string, string>) {
	const response = await fetch(`${server.origin}${path}`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams(fields)
	});
	return { status: response.status, body: await response.json() };
}

/** Everything stored about Laure: her user row, her grants and their tokens, her sessions and device logins, and the user count. */
function victimRows(): string {
	const db = new Database(server.databasePath, { readonly: true, fileMustExist: true });
	try {
		const user = db.prepare('SELECT * FROM users WHERE sub = ?').get(LAURE) as { id: number } | undefined;
		if (!user) return 'no such user';
		const withoutUse = (rows: unknown[]) =>
			rows.map((row) => Object.fromEntries(Object.entries(row as Record<string, unknown>).filter(([name]) => !name.startsWith('last_used'))));
		return JSON.stringify({
			users: (db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n,
			user,
			grants: withoutUse(db.prepare('SELECT * FROM grants WHERE owner_id = ? ORDER BY id').all(user.id)),
			tokens: db
				.prepare(
					'SELECT hex(token_hash) AS hash, grant_id, kind, created_at, expires_at, retired_at FROM tokens WHERE grant_id IN (SELECT id FROM grants WHERE owner_id = ?) ORDER BY hash'
				)
				.all(user.id),
			sessions: (db.prepare('SELECT count(*) AS n FROM sessions WHERE user_id = ?').get(user.id) as { n: number }).n,
			deviceAuthorizations: db
				.prepare(
					'SELECT id, status, owner_id, approved_by, granted_scope, grant_id, decided_at FROM device_authorizations WHERE owner_id = ? OR approved_by = ? ORDER BY id'
				)
				.all(user.id, user.id)
		});
	} finally {
		db.close();
	}
}

async function victimUserinfo() {
	const response = await fetch(`${server.origin}/oauth/userinfo`, { headers: { Authorization: `Bearer ${victim.accessToken}` } });
	return { status: response.status, body: await response.json() };
}

/** Another person's data is exactly as it was before the fuzzing. */
async function expectVictimUntouched() {
	expect(victimRows(), "Laure Haak's rows changed").toBe(victim.rows);
	expect(await victimUserinfo()).toEqual({ status: 200, body: victim.userinfo });
}

test.beforeAll(async ({ browser }) => {
	test.setTimeout(90_000);
	// Laure's code must outlive the whole file, however slow the run: her rows are checked at the end.
	server = await startServer('fuzz', { ADMIN_SUBJECTS: JOSIAH, DEVICE_CODE_TTL: '86400' });

	// Laure approves a device login in her own browser; the CLI collects its tokens.
	const code = (await postForm('/oauth/device_authorization', { client_id: 'narrow-cli', scope: 'read' })).body;
	const context = await browser.newContext({ baseURL: server.origin });
	try {
		const page = await context.newPage();
		await signInAndDecide(page, code.user_code, { user: 'Laure Haak' });
		await expect(page).toHaveURL(/\/device\/success/);
	} finally {
		await context.close();
	}
	await new Promise((resolve) => setTimeout(resolve, 1100));
	const tokens = await postForm('/oauth/token', { grant_type: DEVICE_GRANT, device_code: code.device_code, client_id: 'narrow-cli' });
	expect(tokens.status).toBe(200);
	const before = await fetch(`${server.origin}/oauth/userinfo`, { headers: { Authorization: `Bearer ${tokens.body.access_token}` } });
	expect(before.status).toBe(200);
	const userinfo = await before.json();
	expect(userinfo).toMatchObject({ sub: LAURE, client_id: 'narrow-cli' });
	josiahSession = await signedInSession(browser, server.origin);
	pendingUserCode = (await postForm('/oauth/device_authorization', { client_id: 'demo-cli' })).body.user_code.replace('-', '');
	victim = { accessToken: tokens.body.access_token, refreshToken: tokens.body.refresh_token, userinfo, rows: victimRows() };
});

test.afterAll(async () => {
	await server?.kill('SIGTERM');
});

// ---------------------------------------------------------------------------------------
// The JSON API: every answer is an RFC 6749 JSON object, never a 5xx, HTML or a stack trace.

const OAUTH_POST_ROUTES = ['/oauth/device_authorization', '/oauth/token', '/oauth/revoke', '/oauth/introspect'] as const;

/** What a success may look like on each route, given that no fuzzed input holds a valid secret. */
function expectValidSuccess(route: string, body: Record<string, unknown>) {
	switch (route) {
		case '/oauth/device_authorization':
			expect(body).toMatchObject({
				device_code: expect.any(String),
				user_code: expect.stringMatching(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/),
				verification_uri: `${server.origin}/device`,
				expires_in: expect.any(Number),
				interval: expect.any(Number)
			});
			break;
		case '/oauth/revoke':
			expect(body).toEqual({});
			break;
		case '/oauth/introspect':
			// A guessed or garbled token is never active.
			expect(body).toEqual({ active: false });
			break;
		case '/.well-known/oauth-authorization-server':
		case '/.well-known/openid-configuration':
			expect(body.issuer).toBe(server.origin);
			break;
		case '/.well-known/jwks.json': {
			const { keys } = body as { keys: object[] };
			expect(keys.length).toBeGreaterThanOrEqual(1);
			for (const key of keys) expect(key).not.toHaveProperty('d');
			break;
		}
		default:
			throw new Error(`a guessed or garbled request got 200 from ${route}: ${JSON.stringify(body).slice(0, 300)}`);
	}
}

function expectJsonAnswer(route: string, request: HostileRequest, answer: Answer) {
	expect(answer.status, 'never a server error').toBeLessThan(500);
	expect(answer.headers.get('cache-control'), 'Cache-Control').toBe('no-store');
	expect(answer.headers.get('content-type') ?? '', 'Content-Type').toContain('application/json');
	expect(stackTraceIn(answer.text, request.body), 'a stack trace or internal path in the body').toBeNull();
	if (request.method === 'HEAD') return;
	let body: unknown;
	try {
		body = JSON.parse(answer.text);
	} catch {
		throw new Error(`not JSON: ${answer.text.slice(0, 200)}`);
	}
	expect(typeof body === 'object' && body !== null && !Array.isArray(body), 'a JSON object').toBe(true);
	const object = body as Record<string, unknown>;
	if (answer.status >= 400) {
		expect(typeof object.error, `a string "error" in ${answer.text.slice(0, 200)}`).toBe('string');
		expect(object.error).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/);
		if ('error_description' in object) expect(typeof object.error_description).toBe('string');
	} else {
		expect(answer.status, 'a success is 200').toBe(200);
		expectValidSuccess(route, object);
	}
}

/** How each route answered, by status and error code: shown with each test, so a run shows what it reached. */
const tallies = new Map<string, Map<string, number>>();

function tally(route: string, answer: Answer) {
	let error = '';
	if ((answer.headers.get('content-type') ?? '').includes('json')) {
		try {
			const body = JSON.parse(answer.text);
			error = typeof body?.error === 'string' ? ` ${body.error}` : typeof body?.type === 'string' ? ` ${body.type}` : '';
		} catch {
			error = ' (not JSON)';
		}
	}
	const counts = tallies.get(route) ?? new Map<string, number>();
	counts.set(`${answer.status}${error}`, (counts.get(`${answer.status}${error}`) ?? 0) + 1);
	tallies.set(route, counts);
}

test.afterEach(async () => {
	const info = test.info();
	for (const [route, counts] of tallies) info.annotations.push({ type: `answers from ${route}`, description: JSON.stringify(Object.fromEntries(counts)) });
	tallies.clear();
});

async function answerOf(route: string, request: HostileRequest): Promise<Answer> {
	try {
		const answer = await send(server.origin, route, request);
		tally(route, answer);
		return answer;
	} catch (error) {
		const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
		throw new Error(`no answer at all (${(error as Error).message}${cause ? `: ${cause.code ?? ''} ${cause.message ?? ''}` : ''})`, { cause: error });
	}
}

/** Fuzzes one JSON route: every answer must pass expectJsonAnswer, then `alsoExpect`. Returns how many runs were made. */
async function fuzzJsonRoute(route: string, arbitrary: fc.Arbitrary<HostileRequest>, alsoExpect: (request: HostileRequest, answer: Answer) => void) {
	const { runs } = await runProperty({
		name: route,
		arbitrary,
		numRuns: RUNS,
		seed: SEED,
		timeLimitMs: 60_000,
		describeValue: (request) => describeRequest(route, request),
		check: async (request) => {
			const answer = await answerOf(route, request);
			expectJsonAnswer(route, request, answer);
			alsoExpect(request, answer);
		}
	});
	return runs;
}

const oauthRequest = () =>
	fc
		.record({
			method: POST_ONLY_METHOD,
			query: hostileQuery,
			body: hostileBody({ maxSize: 100_000, multipart: true, unreadableForms: true }),
			// Bodies over the limit go with Content-Length here; chunked oversized bodies have their own test below.
			chunked: fc.boolean(),
			authorization: authorizationHeader,
			userAgent: fc.option(headerValue),
			forwardedFor: fc.option(headerValue),
			dpop: fc.option(headerValue)
		})
		.map(({ method, query, body, chunked, authorization, userAgent, forwardedFor, dpop }): HostileRequest => {
			const headers: Record<string, string> = {};
			if (authorization !== null) headers.Authorization = authorization;
			if (dpop !== null) headers.DPoP = dpop;
			if (userAgent !== null) headers['User-Agent'] = userAgent;
			if (forwardedFor !== null) headers['X-Forwarded-For'] = forwardedFor;
			const size = body.bytes?.length ?? 0;
			return { method, query, contentType: body.contentType, body: body.bytes, chunked: chunked && size <= MAX_OAUTH_BODY, headers };
		});

for (const route of OAUTH_POST_ROUTES) {
	test(`${route} answers hostile requests with an RFC 6749 JSON error (or a valid answer), no-store, never 5xx or a stack trace, 413 over 16 KiB`, async () => {
		test.setTimeout(90_000);
		const runs = await fuzzJsonRoute(route, oauthRequest(), (request, answer) => {
			if (request.method === 'POST' && (request.body?.length ?? 0) > MAX_OAUTH_BODY) expect(answer.status, 'a body over 16 KiB').toBe(413);
		});
		expect(runs).toBeGreaterThanOrEqual(RUNS);
		await expectVictimUntouched();
	});
}

test('a hostile User-Agent stored with a new code is shown escaped on the admin page', async () => {
	const agents = ['<script>doorcodeFuzz()</script>', '"><img src=x onerror=doorcodeFuzz()>', "'></textarea><svg onload=doorcodeFuzz()>"];
	for (const agent of agents) {
		const response = await fetch(`${server.origin}/oauth/device_authorization`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': agent },
			body: 'client_id=demo-cli'
		});
		expect(response.status).toBe(200);
	}
	const admin = await fetch(`${server.origin}/admin`, { headers: { Cookie: `doorcode_session=${josiahSession}`, Accept: 'text/html' } });
	expect(admin.status).toBe(200);
	const html = await admin.text();
	expect(html).toContain('doorcodeFuzz');
	for (const marker of SCRIPT_MARKERS) expect(html).not.toContain(marker);
});

/** A request of any method with a hostile body, except that GET and HEAD carry none. */
function withBodyUnlessGet(method: string, query: string, body: Body, headers: Record<string, string>): HostileRequest {
	const withBody = method !== 'GET' && method !== 'HEAD';
	return { method, query, contentType: withBody ? body.contentType : null, body: withBody ? body.bytes : null, chunked: false, headers };
}

test('/oauth/userinfo answers random Authorization headers with a JSON 401 (never 200, 5xx or a stack trace)', async () => {
	test.setTimeout(90_000);
	const route = '/oauth/userinfo';
	const request = fc
		.record({
			method: fc.oneof({ arbitrary: fc.constant('GET'), weight: 8 }, { arbitrary: fc.constantFrom('POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS'), weight: 2 }),
			query: hostileQuery,
			authorization: authorizationHeader,
			extra: fc.option(fc.tuple(fc.constantFrom('Authorization', 'X-Forwarded-For', 'Cookie', 'Accept', 'DPoP'), headerValue)),
			body: hostileBody({ maxSize: 20_000, multipart: true, unreadableForms: true })
		})
		.map(({ method, query, authorization, extra, body }): HostileRequest => {
			const headers: Record<string, string> = {};
			if (extra) headers[extra[0]] = extra[1];
			if (authorization !== null) headers.Authorization = authorization;
			return withBodyUnlessGet(method, query, body, headers);
		});
	await fuzzJsonRoute(route, request, (value, answer) => {
		if (['GET', 'POST'].includes(value.method)) expect(answer.status).toBe(401);
	});
	await expectVictimUntouched();
});

test('the discovery documents and the JWK Set answer any method, query and headers with JSON and no-store', async () => {
	test.setTimeout(240_000);
	const request = fc
		.record({
			method: fc.oneof(
				{ arbitrary: fc.constant('GET'), weight: 6 },
				{ arbitrary: fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'), weight: 4 }
			),
			query: hostileQuery,
			headers: fc.dictionary(
				fc.constantFrom('Authorization', 'Accept', 'X-Forwarded-For', 'Host-Override', 'If-None-Match', 'Accept-Encoding', 'Cookie'),
				headerValue,
				{ maxKeys: 3 }
			),
			body: hostileBody({ maxSize: 20_000, multipart: true, unreadableForms: true })
		})
		.map(({ method, query, headers, body }): HostileRequest => withBodyUnlessGet(method, query, body, headers));
	for (const route of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration', '/.well-known/jwks.json']) {
		await fuzzJsonRoute(route, request, (value, answer) => {
			if (value.method === 'GET') expect(answer.status).toBe(200);
		});
	}
});

function oversizedProperty(chunked: boolean) {
	return runProperty({
		name: chunked ? 'oversized chunked bodies' : 'oversized bodies with Content-Length',
		arbitrary: fc.record({
			route: fc.constantFrom(...OAUTH_POST_ROUTES),
			size: fc.integer({ min: MAX_OAUTH_BODY + 1, max: 100_000 }),
			piece: fc.oneof(hostileString, fc.constantFrom('client_id=demo-cli&', '{"token":"', 'x')),
			contentType: fc.constantFrom<string | null>('application/x-www-form-urlencoded', 'application/json', 'text/plain', null)
		}),
		numRuns: 40,
		seed: SEED,
		timeLimitMs: 40_000,
		describeValue: ({ route, size, piece, contentType }) =>
			`POST ${route} content-type=${JSON.stringify(contentType)} ${chunked ? 'chunked (Transfer-Encoding: chunked, no Content-Length)' : 'with Content-Length'} body=${size} bytes of ${JSON.stringify(piece.slice(0, 40))}`,
		check: async ({ route, size, piece, contentType }) => {
			const unit = new TextEncoder().encode(piece.length > 0 ? piece : 'x');
			const bytes = new Uint8Array(size);
			for (let i = 0; i < size; i += unit.length) bytes.set(unit.subarray(0, Math.min(unit.length, size - i)), i);
			const value: HostileRequest = { method: 'POST', query: '', contentType, body: bytes, chunked, headers: {} };
			const answer = await answerOf(route, value);
			expectJsonAnswer(route, value, answer);
			expect(answer.status).toBe(413);
		}
	});
}

test('every OAuth POST route answers a body over 16 KiB sent with Content-Length with a JSON 413', async () => {
	test.setTimeout(60_000);
	await oversizedProperty(false);
});

test('every OAuth POST route answers a chunked body over 16 KiB (no Content-Length) with a JSON 413, not a dropped connection', async () => {
	test.setTimeout(60_000);
	await oversizedProperty(true);
});

// ---------------------------------------------------------------------------------------
// Form actions, posted as this site's own pages post them (same origin), with and without a session.

type CookieChoice = 'none' | 'session' | 'session+device' | 'session+junk-device' | 'junk-session';

function cookieHeader(choice: CookieChoice, junk: string): string | null {
	const junkValue = encodeURIComponent(toWellFormed(junk)).slice(0, 200);
	switch (choice) {
		case 'none':
			return null;
		case 'session':
			return `doorcode_session=${josiahSession}`;
		case 'session+device':
			return `doorcode_session=${josiahSession}; doorcode_device=${pendingUserCode}`;
		case 'session+junk-device':
			return `doorcode_session=${josiahSession}; doorcode_device=${junkValue}`;
		case 'junk-session':
			return `doorcode_session=${junkValue}; doorcode_device=${junkValue}`;
	}
}

const formRequest = (body: fc.Arbitrary<{ contentType: string | null; bytes: Uint8Array | null }>) =>
	fc
		.record({
			query: fc.oneof({ arbitrary: fc.constant(''), weight: 4 }, { arbitrary: hostileQuery, weight: 1 }),
			body,
			chunked: fc.boolean(),
			cookie: fc.constantFrom<CookieChoice>('none', 'session', 'session', 'session+device', 'session+junk-device', 'junk-session'),
			junk: hostileString,
			accept: fc.constantFrom<string | null>('text/html,application/xhtml+xml', 'application/json', '*/*', null),
			sveltekitAction: fc.boolean()
		})
		.map(({ query, body, chunked, cookie, junk, accept, sveltekitAction }): HostileRequest => {
			const headers: Record<string, string> = { Origin: server.origin, 'Sec-Fetch-Site': 'same-origin' };
			const cookies = cookieHeader(cookie, junk);
			if (cookies) headers.Cookie = cookies;
			if (accept) headers.Accept = accept;
			if (sveltekitAction) headers['x-sveltekit-action'] = 'true';
			return { method: 'POST', query, contentType: body.contentType, body: body.bytes, chunked, headers };
		});

function expectPageAnswer(request: HostileRequest, answer: Answer) {
	expect(answer.status, 'never a server error').toBeLessThan(500);
	expect(stackTraceIn(answer.text, request.body), 'a stack trace or internal path in the body').toBeNull();
	if ((answer.headers.get('content-type') ?? '').includes('html')) {
		for (const marker of SCRIPT_MARKERS) expect(answer.text, 'input reflected unescaped into HTML').not.toContain(marker);
	}
}

/** A well-formed authorization request, so fuzzed parameters after it reach the consent page's own checks. */
const AUTHORIZE = `/oauth/authorize?${new URLSearchParams({
	response_type: 'code',
	client_id: 'demo-cli',
	redirect_uri: 'http://127.0.0.1:9/callback',
	state: 'fuzz',
	code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
	code_challenge_method: 'S256'
})}`;

const FORM_ACTIONS = [
	'/device',
	'/device/confirm?/approve',
	'/device/confirm?/deny',
	'/admin?/find',
	'/account?/createToken',
	'/account?/revoke',
	`${AUTHORIZE}&/approve`,
	`${AUTHORIZE}&/deny`
];

for (const action of FORM_ACTIONS) {
	test(`POST ${action} answers random same-origin form posts, signed in or not, without a 5xx, a stack trace or unescaped input`, async () => {
		test.setTimeout(90_000);
		await runProperty({
			name: action,
			arbitrary: formRequest(hostileBody({ maxSize: 100_000, multipart: true, unreadableForms: false, preferForm: true })),
			numRuns: RUNS,
			seed: SEED,
			timeLimitMs: 60_000,
			describeValue: (value) => describeRequest(action, value),
			check: async (value) => expectPageAnswer(value, await answerOf(action, value))
		});
		await expectVictimUntouched();
	});
}

test('a form post whose body is no readable form (text/plain, broken multipart) answers 4xx, not a 500 page', async () => {
	test.setTimeout(90_000);
	const request = fc.tuple(
		fc.constantFrom('/device', '/device/confirm?/approve', '/device/confirm?/deny', '/admin?/find', '/account?/createToken', '/account?/revoke'),
		formRequest(unreadableFormBody)
	);
	await runProperty({
		name: 'unreadable form bodies',
		arbitrary: request,
		numRuns: RUNS,
		seed: SEED,
		timeLimitMs: 60_000,
		describeValue: ([action, value]) => describeRequest(action, value),
		check: async ([action, value]) => expectPageAnswer(value, await answerOf(action, value))
	});
});

test('POST /logout answers random same-origin posts without a 5xx or a stack trace', async () => {
	test.setTimeout(90_000);
	await runProperty({
		name: '/logout',
		arbitrary: formRequest(hostileBody({ maxSize: 100_000, multipart: true, unreadableForms: true, preferForm: true })),
		numRuns: RUNS,
		seed: SEED,
		timeLimitMs: 60_000,
		describeValue: (value) => describeRequest('/logout', value),
		check: async (value) => expectPageAnswer(value, await answerOf('/logout', value))
	});
});

test("after all the fuzzing, another person's tokens still work and their rows are unchanged", async () => {
	await expectVictimUntouched();
	// Her refresh token was never presented by anyone: it still rotates, once.
	const refreshed = await postForm('/oauth/token', { grant_type: 'refresh_token', refresh_token: victim.refreshToken, client_id: 'narrow-cli' });
	expect(refreshed.status).toBe(200);
	expect(refreshed.body.access_token).toEqual(expect.any(String));
	const db = new Database(server.databasePath, { readonly: true, fileMustExist: true });
	try {
		expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
	} finally {
		db.close();
	}
});
