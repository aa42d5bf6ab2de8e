import { expect, test } from '@playwright/test';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { loopbackRedirect } from '../support/loopback.ts';
import { authorizationRequest, form, pkce, readDatabase } from '../support/oauth.ts';
import { authorizeInBrowser } from '../support/pages.ts';
import { SERVERS } from '../support/servers.ts';

/**
 * SPEC "Sign-in on the same machine": the authorization code flow with PKCE and a loopback
 * redirect, as clients no one here wrote meet it (openid-client, oauth4webapi), with the person
 * in Chromium, and every refusal end to end.
 */

const server = SERVERS.main;
const JOSIAH = 'orcid:0000-0002-1825-0097';
const insecure = { [oauth.allowInsecureRequests]: true };

/** GET /oauth/authorize without following where it sends the browser. */
async function authorize(fields: Record<string, string>) {
	const response = await fetch(`${server.origin}/oauth/authorize?${new URLSearchParams(fields)}`, { redirect: 'manual' });
	return { status: response.status, location: response.headers.get('location'), text: await response.text() };
}

test('openid-client: buildAuthorizationUrl with PKCE and a nonce, approved in Chromium, then authorizationCodeGrant with its DPoP handle, bound by dpop_jkt; userinfo; a replay revokes the login', async ({
	page
}) => {
	const callback = await loopbackRedirect();
	try {
		const config = await client.discovery(new URL(server.origin), 'oidc-cli', undefined, client.None(), { execute: [client.allowInsecureRequests] });
		const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair());
		const verifier = client.randomPKCECodeVerifier();
		const state = client.randomState();
		const nonce = client.randomNonce();
		const url = client.buildAuthorizationUrl(config, {
			redirect_uri: callback.redirectUri,
			scope: 'openid profile read',
			code_challenge: await client.calculatePKCECodeChallenge(verifier),
			code_challenge_method: 'S256',
			state,
			nonce,
			dpop_jkt: await DPoP.calculateThumbprint()
		});

		await authorizeInBrowser(page, url.href, { clientName: 'OIDC CLI' });
		const answer = await callback.answered;
		await expect(page).toHaveURL(answer.href);
		expect(answer.searchParams.get('iss')).toBe(server.origin);

		const tokens = await client.authorizationCodeGrant(
			config,
			answer,
			{ pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
			undefined,
			{
				DPoP
			}
		);
		expect(tokens.token_type).toBe('dpop');
		expect(tokens.claims()).toMatchObject({ iss: server.origin, sub: JOSIAH, aud: 'oidc-cli', nonce, name: 'Josiah Carberry' });
		expect(await client.fetchUserInfo(config, tokens.access_token, JOSIAH, { DPoP })).toMatchObject({
			sub: JOSIAH,
			client_id: 'oidc-cli',
			scope: 'openid profile read'
		});
		// The code was bound to the key from the browser's request on: its row says so.
		expect(
			readDatabase(server, (db) => db.prepare('SELECT dpop_jkt FROM authorization_codes WHERE consumed_at IS NOT NULL ORDER BY id DESC LIMIT 1').get())
		).toEqual({
			dpop_jkt: await DPoP.calculateThumbprint()
		});

		// The same code again: invalid_grant, and the login it gave is over.
		const replay = await form(server, '/oauth/token', {
			grant_type: 'authorization_code',
			code: answer.searchParams.get('code')!,
			redirect_uri: callback.redirectUri,
			code_verifier: verifier,
			client_id: 'oidc-cli'
		});
		expect(replay.status).toBe(400);
		expect(replay.body.error).toBe('invalid_grant');
		await expect(client.fetchUserInfo(config, tokens.access_token, JOSIAH, { DPoP })).rejects.toThrow();
	} finally {
		callback.close();
	}
});

test('oauth4webapi: validateAuthResponse checks state and iss, and authorizationCodeGrantRequest with DPoP gets bound tokens; a wrong verifier first is refused', async ({
	page
}) => {
	const callback = await loopbackRedirect();
	try {
		const issuer = new URL(server.origin);
		const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
		expect(as).toMatchObject({
			authorization_endpoint: `${server.origin}/oauth/authorize`,
			response_types_supported: ['code'],
			code_challenge_methods_supported: ['S256'],
			authorization_response_iss_parameter_supported: true
		});
		const demo: oauth.Client = { client_id: 'demo-cli' };
		const verifier = oauth.generateRandomCodeVerifier();
		const state = oauth.generateRandomState();
		const url = new URL(as.authorization_endpoint!);
		for (const [name, value] of Object.entries({
			response_type: 'code',
			client_id: demo.client_id,
			redirect_uri: callback.redirectUri,
			scope: 'read',
			state,
			code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
			code_challenge_method: 'S256'
		}))
			url.searchParams.set(name, value);

		await authorizeInBrowser(page, url.href, { clientName: 'Demo CLI' });
		const params = oauth.validateAuthResponse(as, demo, await callback.answered, state);

		const DPoP = oauth.DPoP(demo, await oauth.generateKeyPair('ES256'));
		const wrong = await oauth.authorizationCodeGrantRequest(as, demo, oauth.None(), params, callback.redirectUri, oauth.generateRandomCodeVerifier(), insecure);
		expect(wrong.status).toBe(400);
		expect(await wrong.json()).toEqual({ error: 'invalid_grant', error_description: 'The code_verifier does not match the code_challenge (PKCE).' });

		const response = await oauth.authorizationCodeGrantRequest(as, demo, oauth.None(), params, callback.redirectUri, verifier, { DPoP, ...insecure });
		const tokens = await oauth.processAuthorizationCodeResponse(as, demo, response);
		expect(tokens).toMatchObject({ token_type: 'dpop', scope: 'read' });
		const me = await oauth.processUserInfoResponse(as, demo, JOSIAH, await oauth.userInfoRequest(as, demo, tokens.access_token, { DPoP, ...insecure }));
		expect(me).toMatchObject({ sub: JOSIAH, client_id: 'demo-cli' });
	} finally {
		callback.close();
	}
});

test('Deny sends the browser back with access_denied, the state and the issuer', async ({ page }) => {
	const callback = await loopbackRedirect();
	try {
		const { query } = authorizationRequest(callback.redirectUri, 'deny-state');
		await authorizeInBrowser(page, `/oauth/authorize?${query}`, { clientName: 'Demo CLI', decision: 'deny' });
		const answer = await callback.answered;
		expect(Object.fromEntries(answer.searchParams)).toEqual({
			error: 'access_denied',
			error_description: 'The person denied the request.',
			state: 'deny-state',
			iss: server.origin
		});
	} finally {
		callback.close();
	}
});

test('the consent page names the client, the scopes in plain words and where the answer goes, and is not framed', async ({ page }) => {
	const callback = await loopbackRedirect();
	try {
		const { query } = authorizationRequest(callback.redirectUri, 'view', { scope: 'read write' });
		await page.goto(`/oauth/authorize?${query}`);
		await page.getByRole('link', { name: 'Sign in with ORCID' }).click();
		await page.getByRole('button', { name: 'Sign in', exact: true }).click();
		await expect(page.getByRole('heading', { name: 'Sign in to Demo CLI?' })).toBeVisible();
		await expect(page.getByText('read — read your data')).toBeVisible();
		await expect(page.getByText('write — change your data')).toBeVisible();
		await expect(page.getByTestId('answer-goes-to')).toHaveText(new URL(callback.redirectUri).origin);
		const response = await page.request.get(`/oauth/authorize?${query}`);
		expect(response.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
		expect(response.headers()['cache-control']).toBe('no-store');
	} finally {
		callback.close();
	}
});

test('a cross-site Approve is refused and makes no code', async ({ page }) => {
	const { query } = authorizationRequest('http://127.0.0.1:9/callback', 'csrf');
	await page.goto(`/oauth/authorize?${query}`);
	await page.getByRole('link', { name: 'Sign in with ORCID' }).click();
	await page.getByRole('button', { name: 'Sign in', exact: true }).click();
	await expect(page.getByRole('button', { name: 'Approve' })).toBeVisible();
	const codesBefore = readDatabase(server, (db) => db.prepare('SELECT count(*) AS n FROM authorization_codes').get());
	const forged = await page.request.post(`/oauth/authorize?${query}&/approve`, {
		headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' },
		data: '',
		maxRedirects: 0
	});
	expect(forged.status()).toBe(403);
	expect(readDatabase(server, (db) => db.prepare('SELECT count(*) AS n FROM authorization_codes').get())).toEqual(codesBefore);
});

test('refusals at /oauth/authorize: an unknown client and an unregistered redirect (a non-loopback one, or localhost) get an error page, never a redirect', async () => {
	const { challenge } = pkce();
	const base = { response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256', state: 's' };
	for (const fields of [
		{ ...base, client_id: 'nobody', redirect_uri: 'http://127.0.0.1:8000/callback' },
		{ ...base, client_id: 'demo-cli', redirect_uri: 'https://evil.example/callback' },
		{ ...base, client_id: 'demo-cli', redirect_uri: 'http://192.0.2.1:8000/callback' },
		{ ...base, client_id: 'demo-cli', redirect_uri: 'http://localhost:8000/callback' }
	]) {
		const answer = await authorize(fields);
		expect(answer.status, JSON.stringify(fields)).toBe(400);
		expect(answer.location).toBeNull();
		expect(answer.text).toContain('That request was not understood');
	}
});

test('refusals at /oauth/authorize go back to the client with error, state and iss: plain PKCE, no PKCE, a client without authorization_code in its grant_types', async () => {
	const { challenge } = pkce();
	const redirectUri = 'http://127.0.0.1:8000/callback';
	const cases: [Record<string, string>, string][] = [
		[{ client_id: 'demo-cli', code_challenge: challenge, code_challenge_method: 'plain' }, 'invalid_request'],
		[{ client_id: 'demo-cli' }, 'invalid_request'],
		[{ client_id: 'narrow-cli', code_challenge: challenge, code_challenge_method: 'S256' }, 'unauthorized_client']
	];
	for (const [fields, error] of cases) {
		const answer = await authorize({ response_type: 'code', redirect_uri: redirectUri, state: 'st', ...fields });
		expect(answer.status, JSON.stringify(fields)).toBe(303);
		const location = new URL(answer.location!);
		expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
		expect(location.searchParams.get('error')).toBe(error);
		expect(location.searchParams.get('state')).toBe('st');
		expect(location.searchParams.get('iss')).toBe(server.origin);
	}
});
