import { describe, expect, it } from 'vitest';
import { authenticateClient, clientDeclaration, grantTypesOf, parseClient, parseClients, resolveRequestedScopes, type Client } from './clients';
import { sha256Hex } from './crypto';

const publicClient: Client = { id: 'acme-cli', name: 'Acme CLI', type: 'public', scopes: ['read', 'write'] };
const confidential: Client = { id: 'acme-api', name: 'Acme API', type: 'confidential', scopes: [], secretSha256: sha256Hex('s3cret') };
const clients = new Map([publicClient, confidential].map((c) => [c.id, c]));
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('clients', () => {
	it('a public client is identified by client_id alone and may not send a secret', () => {
		expect(authenticateClient(clients, { clientId: 'acme-cli' })).toMatchObject({ ok: true, method: 'none' });
		expect(authenticateClient(clients, { clientId: 'acme-cli', clientSecret: 'x' }).ok).toBe(false);
	});

	it('a confidential client proves itself with HTTP Basic or client_secret_post', () => {
		expect(authenticateClient(clients, { authorization: basic('acme-api', 's3cret') })).toMatchObject({ ok: true, method: 'client_secret_basic' });
		expect(authenticateClient(clients, { clientId: 'acme-api', clientSecret: 's3cret' })).toMatchObject({ ok: true, method: 'client_secret_post' });
		expect(authenticateClient(clients, { clientId: 'acme-api' }).ok).toBe(false);
		expect(authenticateClient(clients, { authorization: basic('acme-api', 'wrong') }).ok).toBe(false);
		expect(authenticateClient(clients, { authorization: 'Basic !!!' }).ok).toBe(false);
	});

	it('omitted scope means all of the client scopes; unknown scopes are named', () => {
		expect(resolveRequestedScopes(publicClient, undefined)).toEqual(['read', 'write']);
		expect(resolveRequestedScopes(publicClient, 'write  write')).toEqual(['write']);
		expect(resolveRequestedScopes(publicClient, 'read admin')).toEqual({ unknown: ['admin'] });
	});

	it('parsing refuses duplicates, bad ids and public clients with secrets', () => {
		const entry = (extra: object) => JSON.stringify({ clients: [{ id: 'a', name: 'A', type: 'public', scopes: [], ...extra }] });
		expect(parseClients(entry({}))).toEqual({ ok: true, clients: [{ id: 'a', name: 'A', type: 'public', scopes: [] }], warnings: [] });
		expect(parseClients(entry({ id: 'has space' }))).toMatchObject({ ok: false });
		expect(parseClients(entry({ secret_sha256: 'ab' }))).toMatchObject({ ok: false });
		expect(parseClients('{"clients":[{"id":"a","name":"A","type":"public","scopes":[]},{"id":"a","name":"B","type":"public","scopes":[]}]}')).toEqual({
			ok: false,
			error: 'client "a": the id is declared twice'
		});
		expect(parseClients('not json')).toMatchObject({ ok: false });
	});

	it('the id personal access tokens report is reserved, so no CLI can pass for one', () => {
		expect(parseClients(JSON.stringify({ clients: [{ id: 'personal-access-token', name: 'P', type: 'public', scopes: [] }] }))).toEqual({
			ok: false,
			error: 'client "personal-access-token": the id "personal-access-token" is reserved: personal access tokens report it as their client_id'
		});
	});

	it('dpop_bound_access_tokens is true or false; true makes the client DPoP-only', () => {
		const entry = (flag: unknown) => JSON.stringify({ clients: [{ id: 'a', name: 'A', type: 'public', scopes: [], dpop_bound_access_tokens: flag }] });
		expect(parseClients(entry(true))).toMatchObject({ ok: true, clients: [{ id: 'a', dpopBoundAccessTokens: true }], warnings: [] });
		expect(parseClients(entry(false))).toEqual({ ok: true, clients: [{ id: 'a', name: 'A', type: 'public', scopes: [] }], warnings: [] });
		expect(parseClients(entry('yes'))).toEqual({ ok: false, error: 'client "a": dpop_bound_access_tokens must be true or false' });
	});

	it('unknown keys are named in a warning instead of being ignored silently', () => {
		const text = JSON.stringify({ clients: [{ id: 'a', name: 'A', type: 'public', scopes: [], scope: ['read'], secret: 'x' }] });
		expect(parseClients(text)).toMatchObject({ ok: true, warnings: ['client "a": ignoring unknown keys "scope", "secret"'] });
	});

	const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
	const base = { id: 'a', name: 'A', type: 'public', scopes: ['read'] };

	it('every per-client setting SPEC names is read, by its name, and a left-out one follows the server', () => {
		const every = {
			...base,
			grant_types: [DEVICE, 'refresh_token', 'authorization_code', DEVICE],
			redirect_uris: ['http://127.0.0.1/callback', 'http://[::1]:8080/cb', 'https://cli.example/done'],
			access_token_format: 'jwt',
			audience: 'https://api.example.org',
			access_token_ttl: 300,
			refresh_token_ttl: 86_400,
			device_code_ttl: 120,
			poll_interval: 2,
			address_mismatch: 'refuse',
			allow: { providers: ['orcid'], email_domains: ['lab.example'] }
		};
		const parsed = parseClient(every) as Client;
		expect(parsed).toEqual({
			id: 'a',
			name: 'A',
			type: 'public',
			scopes: ['read'],
			grantTypes: [DEVICE, 'refresh_token', 'authorization_code'],
			redirectUris: ['http://127.0.0.1/callback', 'http://[::1]:8080/cb', 'https://cli.example/done'],
			accessTokenFormat: 'jwt',
			audience: 'https://api.example.org',
			accessTokenTtlSeconds: 300,
			refreshTokenTtlSeconds: 86_400,
			deviceCodeTtlSeconds: 120,
			pollIntervalSeconds: 2,
			addressMismatch: 'refuse',
			allow: { providers: ['orcid'], emailDomains: ['lab.example'] }
		});
		// What the operator's command prints is a declaration that parses back into the same client.
		expect(parseClient(clientDeclaration(parsed))).toEqual(parsed);
		expect(grantTypesOf(parseClient(base) as Client)).toEqual([DEVICE, 'refresh_token']);
	});

	it('each bad setting is refused in one line naming it', () => {
		const refused = (extra: object) => parseClient({ ...base, ...extra });
		expect(refused({ grant_types: ['implicit'] })).toMatch(/^grant_types must be a non-empty array of/);
		expect(refused({ grant_types: [] })).toMatch(/^grant_types must be a non-empty array of/);
		expect(refused({ grant_types: ['refresh_token'] })).toMatch(/^grant_types must include .* refresh_token alone starts no login$/);
		expect(refused({ grant_types: ['authorization_code'] })).toBe('a client with the authorization_code grant needs redirect_uris');
		for (const uri of ['http://cli.example/cb', 'http://localhost/cb', 'https://cli.example/cb#x', 'ftp://cli.example/', 'not a url'])
			expect(refused({ redirect_uris: [uri] }), uri).toBe(
				'redirect_uris must be an array of absolute https URLs (plain http only to 127.0.0.1 or [::1]), without a fragment'
			);
		expect(refused({ access_token_ttl: 29 })).toBe('access_token_ttl must be a whole number of seconds from 30 to 86400');
		expect(refused({ refresh_token_ttl: '3600' })).toBe('refresh_token_ttl must be a whole number of seconds from 60 to 31536000');
		expect(refused({ device_code_ttl: 86_401 })).toBe('device_code_ttl must be a whole number of seconds from 1 to 86400');
		expect(refused({ poll_interval: 1.5 })).toBe('poll_interval must be a whole number of seconds from 1 to 300');
		expect(refused({ address_mismatch: 'block' })).toBe('address_mismatch must be "warn" or "refuse"');
		expect(refused({ name: 'x'.repeat(101) })).toBe('name must be a non-empty string of at most 100 characters');
	});

	it('a client carries its own allow, else the top-level one; a client without either admits anyone who can sign in', () => {
		const text = JSON.stringify({
			allow: { providers: ['acme', 'github'] },
			clients: [
				{ id: 'a', name: 'A', type: 'public', scopes: [], allow: { email_domains: ['lab.example'], groups: ['acme/platform'], subjects: ['github:583231'] } },
				{ id: 'b', name: 'B', type: 'public', scopes: [] }
			]
		});
		expect(parseClients(text)).toEqual({
			ok: true,
			clients: [
				{ id: 'a', name: 'A', type: 'public', scopes: [], allow: { emailDomains: ['lab.example'], groups: ['acme/platform'], subjects: ['github:583231'] } },
				{ id: 'b', name: 'B', type: 'public', scopes: [], allow: { providers: ['acme', 'github'] } }
			],
			warnings: []
		});
		const open = parseClients(JSON.stringify({ clients: [{ id: 'b', name: 'B', type: 'public', scopes: [] }] }));
		expect(open.ok && open.clients[0]).toEqual({ id: 'b', name: 'B', type: 'public', scopes: [] });
	});

	it('a bad allow stops start-up naming its client, or the top-level one; unknown keys in it are warned about', () => {
		const withAllow = (allow: unknown, topLevel?: unknown) =>
			JSON.stringify({ ...(topLevel === undefined ? {} : { allow: topLevel }), clients: [{ id: 'a', name: 'A', type: 'public', scopes: [], allow }] });
		expect(parseClients(withAllow({ providers: [] }))).toEqual({
			ok: false,
			error: 'client "a": allow.providers must list provider ids such as "orcid", "clerk" or a PROVIDERS_FILE id'
		});
		expect(parseClients(withAllow({ providers: ['orcid'] }, 'everyone'))).toEqual({
			ok: false,
			error: 'the top-level allow must be an object such as {"providers": ["github"], "email_domains": ["lab.example"]}'
		});
		expect(parseClients(withAllow({ providers: ['orcid'], domain: ['lab.example'] }, { provider: ['orcid'] }))).toMatchObject({
			ok: true,
			warnings: ['the top-level allow: ignoring unknown key "allow.provider"', 'client "a": ignoring unknown key "allow.domain"']
		});
	});
});
