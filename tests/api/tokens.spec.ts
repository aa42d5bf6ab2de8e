import { expect, test } from '@playwright/test';
import { ACME_API_BASIC, approvedTokens, form, userinfo } from '../support/oauth.ts';
import { SERVERS } from '../support/servers.ts';

const server = SERVERS.main;
const REFRESH_REFUSED = { error: 'invalid_grant', error_description: 'The refresh token is unknown, expired or revoked. Log in again.' };
const refresh = (refreshToken: string) => form(server, '/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'demo-cli' });
const introspect = (token: string) => form(server, '/oauth/introspect', { token }, ACME_API_BASIC);

test('metadata lists revocation, introspection and userinfo endpoints and the auth methods', async () => {
	const metadata = await (await fetch(`${server.origin}/.well-known/oauth-authorization-server`)).json();
	expect(metadata).toMatchObject({
		revocation_endpoint: `${server.origin}/oauth/revoke`,
		introspection_endpoint: `${server.origin}/oauth/introspect`,
		userinfo_endpoint: `${server.origin}/oauth/userinfo`,
		grant_types_supported: ['urn:ietf:params:oauth:grant-type:device_code', 'authorization_code', 'refresh_token'],
		introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post']
	});
});

test('a refresh returns a new access and refresh token and retires the old refresh token', async ({ page }) => {
	const tokens = await approvedTokens(page, server);
	const rotated = await refresh(tokens.refresh_token);
	expect(rotated.status).toBe(200);
	expect(rotated.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'read write' });
	expect(rotated.body.refresh_token).not.toBe(tokens.refresh_token);
	expect((await userinfo(server, rotated.body.access_token)).status).toBe(200);
	expect((await introspect(tokens.refresh_token)).body).toEqual({ active: false });
});

test('presenting a retired refresh token revokes the whole grant (reuse detection)', async ({ page }) => {
	const tokens = await approvedTokens(page, server);
	const rotated = await refresh(tokens.refresh_token);
	const reused = await refresh(tokens.refresh_token);
	expect(reused.status).toBe(400);
	expect(reused.body).toEqual({
		error: 'invalid_grant',
		error_description: 'This refresh token was already used, so the login it belongs to is now revoked. Log in again.'
	});
	expect((await userinfo(server, rotated.body.access_token)).status).toBe(401);
	expect((await refresh(rotated.body.refresh_token)).body).toEqual(REFRESH_REFUSED);
});

test('two concurrent refreshes with the same token do not both succeed', async ({ page }) => {
	const tokens = await approvedTokens(page, server);
	const answers = await Promise.all([refresh(tokens.refresh_token), refresh(tokens.refresh_token)]);
	expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
	// The second to arrive presents a token the first already retired: reuse, so the grant ends (RFC 9700).
	expect(answers.filter((a) => a.status === 400).map((a) => a.body)).toEqual([
		{ error: 'invalid_grant', error_description: 'This refresh token was already used, so the login it belongs to is now revoked. Log in again.' }
	]);
});

test('revoking an access token makes userinfo answer 401; unknown tokens still get 200', async ({ page }) => {
	const tokens = await approvedTokens(page, server);
	const revoked = await form(server, '/oauth/revoke', { token: tokens.access_token, token_type_hint: 'access_token', client_id: 'demo-cli' });
	expect(revoked).toMatchObject({ status: 200, body: {} });
	const after = await userinfo(server, tokens.access_token);
	expect(after.status).toBe(401);
	expect(after.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
	expect((await refresh(tokens.refresh_token)).status).toBe(200);
	expect((await form(server, '/oauth/revoke', { token: 'dca_unknown', client_id: 'demo-cli' })).status).toBe(200);
});

test('revoking a refresh token ends the grant: its access token stops working at once', async ({ page }) => {
	const tokens = await approvedTokens(page, server);
	expect((await form(server, '/oauth/revoke', { token: tokens.refresh_token, client_id: 'demo-cli' })).status).toBe(200);
	expect((await userinfo(server, tokens.access_token)).status).toBe(401);
	expect((await refresh(tokens.refresh_token)).body).toEqual(REFRESH_REFUSED);
});

test('introspection tells an authenticated confidential client what a live token is, and active:false otherwise', async ({ page }) => {
	const tokens = await approvedTokens(page, server);
	const live = await introspect(tokens.access_token);
	expect(live.status).toBe(200);
	expect(live.body).toEqual({
		active: true,
		sub: 'orcid:0000-0002-1825-0097',
		scope: 'read write',
		client_id: 'demo-cli',
		token_type: 'Bearer',
		exp: expect.any(Number),
		iat: expect.any(Number),
		aud: server.origin
	});
	expect(live.body.exp - live.body.iat).toBe(3600);
	const post = await form(server, '/oauth/introspect', { token: tokens.access_token, client_id: 'acme-api', client_secret: 'acme-secret' });
	expect(post.body.active).toBe(true);
	expect((await introspect('dca_nothing')).body).toEqual({ active: false });
	await form(server, '/oauth/revoke', { token: tokens.refresh_token, client_id: 'demo-cli' });
	expect((await introspect(tokens.access_token)).body).toEqual({ active: false });
});

test('introspection answers only confidential clients: public or unauthenticated callers get 401', async ({ page }) => {
	const tokens = await approvedTokens(page, server);
	const anonymous = await form(server, '/oauth/introspect', { token: tokens.access_token });
	expect(anonymous.status).toBe(401);
	expect(anonymous.body).toEqual({ error: 'invalid_client', error_description: 'client_id is required.' });
	const publicClient = await form(server, '/oauth/introspect', { token: tokens.access_token, client_id: 'demo-cli' });
	expect(publicClient.status).toBe(401);
	expect(publicClient.body).toEqual({
		error: 'invalid_client',
		error_description: 'Introspection is only for confidential clients that authenticate with their secret.'
	});
	const wrongSecret = await form(server, '/oauth/introspect', { token: tokens.access_token, client_id: 'acme-api', client_secret: 'nope' });
	expect(wrongSecret.status).toBe(401);
});
