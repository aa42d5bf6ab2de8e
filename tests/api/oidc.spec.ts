import { expect, test, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as client from 'openid-client';
import { ACME_API_BASIC, approvedTokens, userinfo } from '../support/oauth.ts';
import { signInAndDecide } from '../support/pages.ts';
import { requires } from '../support/requires.ts';
import { SERVERS } from '../support/servers.ts';

/** SPEC "OpenID Connect and JWT access tokens", as the tools that use them meet it. */

const server = SERVERS.main;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('OpenID discovery names the JWK Set, the signing algorithm, openid and the claims; the RFC 8414 document names jwks_uri too', async () => {
	const openid = await (await fetch(`${server.origin}/.well-known/openid-configuration`)).json();
	expect(openid).toMatchObject({
		issuer: server.origin,
		jwks_uri: `${server.origin}/.well-known/jwks.json`,
		token_endpoint: `${server.origin}/oauth/token`,
		device_authorization_endpoint: `${server.origin}/oauth/device_authorization`,
		userinfo_endpoint: `${server.origin}/oauth/userinfo`,
		subject_types_supported: ['public'],
		id_token_signing_alg_values_supported: ['RS256'],
		claims_supported: expect.arrayContaining(['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'name', 'email', 'email_verified', 'act']),
		response_types_supported: ['code']
	});
	expect(openid.scopes_supported).toContain('openid');
	const oauth = await (await fetch(`${server.origin}/.well-known/oauth-authorization-server`)).json();
	expect(oauth.jwks_uri).toBe(`${server.origin}/.well-known/jwks.json`);
	const jwks = await (await fetch(`${server.origin}/.well-known/jwks.json`)).json();
	expect(jwks.keys.length).toBeGreaterThanOrEqual(1);
	for (const key of jwks.keys) {
		expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.any(String) });
		expect(key).not.toHaveProperty('d');
	}
});

test('openid-client in OpenID Connect mode runs a device login and validates the ID token itself', async ({ page }) => {
	const config = await client.discovery(new URL(server.origin), 'oidc-cli', undefined, client.None(), { execute: [client.allowInsecureRequests] });
	// Verify the ID token's signature against the JWK Set, not only its claims.
	client.enableNonRepudiationChecks(config);
	const authorization = await client.initiateDeviceAuthorization(config, { scope: 'openid profile' });
	const granted = client.pollDeviceAuthorizationGrant(config, authorization);
	await signInAndDecide(page, authorization.user_code, { user: 'Josiah Carberry' });
	const tokens = await granted;
	const claims = tokens.claims();
	expect(claims).toMatchObject({ iss: server.origin, sub: 'orcid:0000-0002-1825-0097', aud: 'oidc-cli', name: 'Josiah Carberry' });
	expect(typeof claims?.auth_time).toBe('number');
	expect(claims).not.toHaveProperty('email');
	const me = await (await userinfo(server, tokens.access_token)).json();
	expect(me.sub).toBe(claims?.sub);
});

test('a client without openid never gets an ID token', async ({ page }) => {
	const tokens = await approvedTokens(page, server);
	expect(tokens).not.toHaveProperty('id_token');
});

const run = (command: string, args: string[]) => spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
const NODE_EXAMPLE = 'docs/examples/verify-access-token.mjs';
const PYTHON_EXAMPLE = 'docs/examples/verify_access_token.py';

/** A fresh JWT access token that one example accepts, and a tampered copy it must refuse. */
async function checkExample(page: Page, command: string, script: string) {
	const tokens = await approvedTokens(page, server, 'jwt-cli');
	expect(tokens.expires_in).toBe(300);
	const accepted = run(command, [script, server.origin, 'https://api.example.org', tokens.access_token]);
	expect(accepted.stdout.trim(), accepted.stderr).toBe(JSON.stringify({ sub: 'orcid:0000-0002-1825-0097', scope: 'read', client_id: 'jwt-cli' }));

	const [header, payload, signature] = tokens.access_token.split('.');
	const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
	const tampered = [header, Buffer.from(JSON.stringify({ ...claims, sub: 'orcid:0000-0001-5109-3700' })).toString('base64url'), signature].join('.');
	const refused = run(command, [script, server.origin, 'https://api.example.org', tampered]);
	expect(refused.status).toBe(1);
	expect(refused.stderr).toMatch(/^refused: /);
	return tokens.access_token;
}

test('a JWT access token verifies with the JWK Set alone in Node (jose); a tampered one does not', async ({ page }) => {
	const token = await checkExample(page, process.execPath, NODE_EXAMPLE);
	// Another API (another audience) must not accept it either.
	expect(run(process.execPath, [NODE_EXAMPLE, server.origin, 'https://other.example.org', token]).status).toBe(1);
});

test.describe('in Python', () => {
	requires('PyJWT');

	test('a JWT access token verifies with the JWK Set alone in Python (PyJWT); a tampered one does not', async ({ page }) => {
		await checkExample(page, '/usr/bin/python3', PYTHON_EXAMPLE);
	});
});

test('a JWT access token for another API is refused at userinfo; introspection names its aud, and answers inactive at once when revoked', async ({ page }) => {
	const tokens = await approvedTokens(page, server, 'jwt-cli');
	const refused = await userinfo(server, tokens.access_token);
	expect(refused.status).toBe(401);
	expect(await refused.json()).toEqual({
		error: 'invalid_token',
		error_description: 'The access token is meant for another API (its aud), not for this server.'
	});
	const introspect = async () =>
		(
			await fetch(`${server.origin}/oauth/introspect`, {
				method: 'POST',
				headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...ACME_API_BASIC },
				body: new URLSearchParams({ token: tokens.access_token })
			})
		).json();
	expect(await introspect()).toMatchObject({ active: true, client_id: 'jwt-cli', aud: 'https://api.example.org' });
	const revoked = await fetch(`${server.origin}/oauth/revoke`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({ token: tokens.access_token, client_id: 'jwt-cli' })
	});
	expect(revoked.status).toBe(200);
	expect(await introspect()).toEqual({ active: false });
});

test('docs/api.md shows both verification examples exactly as the tests run them', () => {
	const page = readFileSync(`${ROOT}docs/api.md`, 'utf8');
	for (const example of [NODE_EXAMPLE, PYTHON_EXAMPLE]) expect(page).toContain(readFileSync(`${ROOT}${example}`, 'utf8').trim());
});
