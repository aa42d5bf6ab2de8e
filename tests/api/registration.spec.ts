import { expect, test } from '@playwright/test';
import * as client from 'openid-client';
import { DEVICE_GRANT, readDatabase } from '../support/oauth.ts';
import { SERVERS } from '../support/servers.ts';
import { startServer, type SpawnedServer } from '../support/spawned-server.ts';

/**
 * RFC 7591 dynamic registration and RFC 7592 management (SPEC "Clients at run time"), on a
 * server of its own with REGISTRATION_TOKEN set and its limits on: openid-client's
 * registration, every RFC 7591 §3.2.2 error, read, update and delete with the registration
 * access token, the limit per address; and closed registration on the shared server.
 */

test.describe.configure({ mode: 'serial' });

const TOKEN = 'registration-token-for-the-registration-tests';
let server: SpawnedServer;

test.beforeAll(async () => {
	server = await startServer('registration', {
		REGISTRATION_TOKEN: TOKEN,
		REGISTRATION_SCOPES: 'openid profile read',
		RATE_LIMITS: 'on',
		RATE_LIMIT_REGISTRATION: '40/60',
		// Each test names its own address with X-Forwarded-For, as one proxy hop would.
		TRUST_PROXY: '1'
	});
});
test.afterAll(async () => {
	await server?.kill();
});

let address = 0;
/** A request from an address no other test uses, so the limit of one test leaves the others alone. */
function fromNewAddress(): Record<string, string> {
	return { 'X-Forwarded-For': `198.51.100.${++address}` };
}

async function call(method: string, path: string, body: unknown, headers: Record<string, string>) {
	const response = await fetch(`${server.origin}${path}`, {
		method,
		headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
		body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
	});
	const text = await response.text();
	return { status: response.status, headers: response.headers, body: text === '' ? null : JSON.parse(text) };
}
const register = (metadata: unknown, headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}`, ...fromNewAddress() }) =>
	call('POST', '/oauth/register', metadata, headers);
const bearer = (token: string) => ({ Authorization: `Bearer ${token}`, ...fromNewAddress() });

async function form(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
	const response = await fetch(`${server.origin}${path}`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...fromNewAddress(), ...headers },
		body: new URLSearchParams(fields)
	});
	return { status: response.status, body: await response.json() };
}

test('openid-client registers a public device client with the registration token, and asks for a code with it at once', async () => {
	const metadata = await call('GET', '/.well-known/oauth-authorization-server', undefined, {});
	expect(metadata.body.registration_endpoint).toBe(`${server.origin}/oauth/register`);
	const config = await client.dynamicClientRegistration(
		new URL(server.origin),
		{ client_name: 'Registered CLI', token_endpoint_auth_method: 'none', grant_types: [DEVICE_GRANT, 'refresh_token'], scope: 'openid read' },
		client.None(),
		{ initialAccessToken: TOKEN, algorithm: 'oauth2', execute: [client.allowInsecureRequests] }
	);
	const registered = config.clientMetadata();
	expect(registered).toMatchObject({
		client_name: 'Registered CLI',
		token_endpoint_auth_method: 'none',
		grant_types: [DEVICE_GRANT, 'refresh_token'],
		scope: 'openid read',
		registration_client_uri: `${server.origin}/oauth/register/${registered.client_id}`
	});
	expect(registered.client_id).toMatch(/^dc-[A-Za-z0-9_-]{16}$/);
	expect(registered.client_secret).toBeUndefined();
	expect(registered.registration_access_token).toMatch(/^dcr_/);

	const code = await client.initiateDeviceAuthorization(config, { scope: 'openid read' });
	// RFC 9449 §5.2: a client registered as DPoP-bound must prove its key from its first request.
	const bound = await register({ token_endpoint_auth_method: 'none', dpop_bound_access_tokens: true });
	expect(bound.body.dpop_bound_access_tokens).toBe(true);
	expect((await form('/oauth/device_authorization', { client_id: bound.body.client_id })).body.error).toBe('invalid_dpop_proof');
	expect(code.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
	// Stored: who manages it, and only the hash of its registration access token.
	const row = readDatabase(server, (db) => db.prepare('SELECT managed_by, registration FROM clients WHERE id = ?').get(registered.client_id)) as {
		managed_by: string;
		registration: string;
	};
	expect(row.managed_by).toBe('registration');
	expect(row.registration).not.toContain(registered.registration_access_token as string);
});

test("a confidential registration answers 201 with its secret once, which authenticates at the token endpoint; the defaults are doorcode's", async () => {
	const answer = await register({ client_name: 'Registered API', token_endpoint_auth_method: 'client_secret_basic', software_id: 'ignored' });
	expect(answer.status).toBe(201);
	expect(answer.headers.get('cache-control')).toBe('no-store');
	const { client_id: id, client_secret: secret } = answer.body;
	expect(answer.body).toEqual({
		client_id: id,
		client_secret: expect.stringMatching(/^dcs_/),
		client_secret_expires_at: 0,
		client_id_issued_at: expect.any(Number),
		registration_access_token: expect.stringMatching(/^dcr_/),
		registration_client_uri: `${server.origin}/oauth/register/${id}`,
		client_name: 'Registered API',
		grant_types: [DEVICE_GRANT, 'refresh_token'],
		response_types: [],
		token_endpoint_auth_method: 'client_secret_basic',
		scope: 'openid profile read'
	});
	expect(Math.abs(answer.body.client_id_issued_at - Date.now() / 1000)).toBeLessThan(60);
	const basic = { Authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` };
	const code = await form('/oauth/device_authorization', { scope: 'read' }, basic);
	expect(code.status).toBe(200);
	const poll = await form('/oauth/token', { grant_type: DEVICE_GRANT, device_code: code.body.device_code }, basic);
	expect(poll.body.error).toBe('authorization_pending');
	const wrong = await form('/oauth/device_authorization', { client_id: id, client_secret: 'dcs_not-it' });
	expect(wrong.status).toBe(401);
});

test('each bad field is refused with invalid_client_metadata or invalid_redirect_uri and a description naming it; nothing is registered', async () => {
	const before = readDatabase(server, (db) => (db.prepare('SELECT count(*) AS n FROM clients').get() as { n: number }).n);
	const cases: [unknown, string, RegExp][] = [
		[{ client_name: 5 }, 'invalid_client_metadata', /^client_name must be/],
		[{ client_name: '' }, 'invalid_client_metadata', /^client_name must be/],
		[
			{ token_endpoint_auth_method: 'private_key_jwt' },
			'invalid_client_metadata',
			/^token_endpoint_auth_method must be one of "none", "client_secret_basic", "client_secret_post"/
		],
		[{ scope: 'openid admin' }, 'invalid_client_metadata', /^scope may name only openid profile read \(not "admin"\)/],
		[{ scope: ['openid'] }, 'invalid_client_metadata', /^scope must be a string/],
		[{ grant_types: ['password'] }, 'invalid_client_metadata', /^grant_types must be a non-empty array/],
		[{ grant_types: 'refresh_token' }, 'invalid_client_metadata', /^grant_types must be a non-empty array/],
		[{ grant_types: ['refresh_token'] }, 'invalid_client_metadata', /refresh_token alone starts no login/],
		[{ redirect_uris: ['http://example.com/callback'] }, 'invalid_redirect_uri', /^redirect_uris must be an array of absolute https URLs/],
		[{ redirect_uris: 'https://example.com/callback' }, 'invalid_redirect_uri', /^redirect_uris must be/],
		[{ redirect_uris: ['https://example.com/cb#fragment'] }, 'invalid_redirect_uri', /without a fragment/],
		[{ grant_types: ['authorization_code'] }, 'invalid_redirect_uri', /needs redirect_uris/],
		[{ dpop_bound_access_tokens: 'yes' }, 'invalid_client_metadata', /^dpop_bound_access_tokens must be true or false/]
	];
	for (const [metadata, error, description] of cases) {
		const answer = await register({ token_endpoint_auth_method: 'none', ...(metadata as object) });
		expect(answer.status, JSON.stringify(metadata)).toBe(400);
		expect(answer.body.error, JSON.stringify(metadata)).toBe(error);
		expect(answer.body.error_description, JSON.stringify(metadata)).toMatch(description);
	}
	for (const body of ['{"client_name": ', '["not", "an", "object"]']) {
		const answer = await register(body);
		expect(answer.status).toBe(400);
		expect(answer.body.error).toBe('invalid_request');
	}
	const asForm = await call('POST', '/oauth/register', undefined, {
		Authorization: `Bearer ${TOKEN}`,
		'Content-Type': 'application/x-www-form-urlencoded',
		...fromNewAddress()
	});
	expect(asForm.body).toEqual({ error: 'invalid_request', error_description: 'Send the client metadata as application/json.' });
	expect(readDatabase(server, (db) => (db.prepare('SELECT count(*) AS n FROM clients').get() as { n: number }).n)).toBe(before);
});

test('without the registration token, or with a wrong one, registration answers 401 invalid_token', async () => {
	const none = await register({ token_endpoint_auth_method: 'none' }, fromNewAddress());
	expect(none.status).toBe(401);
	expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
	expect(none.body.error).toBe('invalid_token');
	const wrong = await register({ token_endpoint_auth_method: 'none' }, bearer(`${TOKEN}x`));
	expect(wrong.status).toBe(401);
	expect(wrong.body.error).toBe('invalid_token');
});

test('RFC 7592: the registration access token reads, updates and deletes its client, and no other', async () => {
	const created = await register({ client_name: 'Managed CLI', token_endpoint_auth_method: 'none', scope: 'openid' });
	const { client_id: id, registration_access_token: token } = created.body;
	const path = `/oauth/register/${id}`;

	const read = await call('GET', path, undefined, bearer(token));
	expect(read.status).toBe(200);
	expect(read.body).toEqual({ ...created.body });
	const other = await register({ token_endpoint_auth_method: 'none' });
	for (const [method, body] of [
		['GET', undefined],
		['PUT', { client_id: id }],
		['DELETE', undefined]
	] as const) {
		const refused = await call(method, path, body, bearer(other.body.registration_access_token));
		expect(refused.status, method).toBe(401);
		expect(refused.body.error, method).toBe('invalid_token');
	}
	expect((await call('GET', path, undefined, fromNewAddress())).status).toBe(401);
	expect((await call('GET', '/oauth/register/dc-nobody', undefined, bearer(token))).status).toBe(401);

	// An update replaces the registered metadata: a public client turning confidential gets its secret, once.
	const update = { client_id: id, client_name: 'Managed API', token_endpoint_auth_method: 'client_secret_post', scope: 'read' };
	const updated = await call('PUT', path, update, bearer(token));
	expect(updated.status).toBe(200);
	expect(updated.body).toMatchObject({
		client_id: id,
		client_name: 'Managed API',
		token_endpoint_auth_method: 'client_secret_post',
		scope: 'read',
		registration_access_token: token
	});
	expect(updated.body.client_secret).toMatch(/^dcs_/);
	const code = await form('/oauth/device_authorization', { client_id: id, client_secret: updated.body.client_secret });
	expect(code.status).toBe(200);
	const reread = await call('GET', path, undefined, bearer(token));
	expect(reread.body).toMatchObject({ client_name: 'Managed API', token_endpoint_auth_method: 'client_secret_post' });
	expect(reread.body.client_secret).toBeUndefined();

	for (const [body, description] of [
		[{ ...update, client_id: 'someone-else' }, /^client_id must be the id/],
		[{ ...update, registration_access_token: token }, /^registration_access_token is the server's to say/],
		[{ ...update, client_secret: 'dcs_wrong' }, /^client_secret is not this client/],
		[{ ...update, scope: 'email' }, /^scope may name only/]
	] as const) {
		const refused = await call('PUT', path, body, bearer(token));
		expect(refused.status).toBe(400);
		expect(refused.body.error).toBe('invalid_client_metadata');
		expect(refused.body.error_description).toMatch(description);
	}

	const deleted = await call('DELETE', path, undefined, bearer(token));
	expect(deleted.status).toBe(204);
	expect(deleted.body).toBeNull();
	expect((await call('GET', path, undefined, bearer(token))).status).toBe(401);
	const gone = await form('/oauth/device_authorization', { client_id: id, client_secret: updated.body.client_secret });
	expect(gone.status).toBe(401);
	expect(gone.body.error).toBe('invalid_client');
});

test('registration is limited per address: past RATE_LIMIT_REGISTRATION, 429 with Retry-After, while another address still registers', async () => {
	const address = fromNewAddress();
	const statuses: number[] = [];
	for (let i = 0; i < 41; i++) statuses.push((await register({ token_endpoint_auth_method: 'none' }, { Authorization: `Bearer ${TOKEN}`, ...address })).status);
	expect(statuses.slice(0, 40).every((status) => status === 201)).toBe(true);
	const refused = await register({ token_endpoint_auth_method: 'none' }, { Authorization: `Bearer ${TOKEN}`, ...address });
	expect(refused.status).toBe(429);
	expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
	expect(refused.body.error).toBe('temporarily_unavailable');
	// Wrong tokens count too: guessing the token is limited like registering.
	expect((await register({}, { Authorization: 'Bearer guess', ...address })).status).toBe(429);
	expect((await register({ token_endpoint_auth_method: 'none' })).status).toBe(201);
});

test('closed registration (no REGISTRATION_TOKEN): the routes answer 404 JSON and the metadata names no registration_endpoint', async () => {
	const base = SERVERS.main.origin;
	const metadata = await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json();
	expect(metadata.registration_endpoint).toBeUndefined();
	const openid = await (await fetch(`${base}/.well-known/openid-configuration`)).json();
	expect(openid.registration_endpoint).toBeUndefined();
	for (const [method, path] of [
		['POST', '/oauth/register'],
		['GET', '/oauth/register'],
		['GET', '/oauth/register/demo-cli'],
		['PUT', '/oauth/register/demo-cli'],
		['DELETE', '/oauth/register/demo-cli']
	]) {
		const response = await fetch(`${base}${path}`, {
			method,
			headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
			body: method === 'GET' || method === 'DELETE' ? undefined : '{}'
		});
		expect(response.status, `${method} ${path}`).toBe(404);
		expect(response.headers.get('content-type')).toContain('application/json');
		expect(await response.json()).toEqual({ error: 'invalid_request', error_description: 'There is no such endpoint.' });
	}
});
