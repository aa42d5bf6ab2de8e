import { createHash, randomBytes } from 'node:crypto';
import { CodeChallengeMethod, decodeIdToken, generateCodeVerifier, generateState, OAuth2Client } from 'arctic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CLERK_USERS, DEV_ORCID_USERS, startDevIdentityProvider } from './dev-idp';
import type { DevIdentityProvider, DevProvider, DevUser } from './dev-idp';
import { HttpBrowser } from '../../../../tests/support/http-browser.ts';

const ORIGIN = 'http://localhost:4999';

let idp: DevIdentityProvider;

beforeAll(async () => {
	idp = await startDevIdentityProvider({ origin: ORIGIN });
});

afterAll(async () => {
	await idp?.close();
});

/** A browser for the IdP's pages, whose walks end at doorcode's callback. */
class Browser extends HttpBrowser {
	followUntilCallback(url: string, init: RequestInit = {}): Promise<URL> {
		return this.followUntil(ORIGIN, url, init);
	}
}

interface Started {
	browser: Browser;
	state: string;
	codeVerifier: string;
	pageUrl: URL;
	html: string;
}

/** GET the authorization URL and follow to the provider's sign-in page. */
async function startSignIn(provider: DevProvider, kind: 'orcid' | 'clerk', scope: string): Promise<Started> {
	const browser = new Browser();
	const state = randomBytes(16).toString('base64url');
	const codeVerifier = randomBytes(32).toString('base64url');
	const authorize = new URL(`${provider.baseUrl}/oauth/authorize`);
	authorize.search = new URLSearchParams({
		client_id: provider.clientId,
		redirect_uri: `${ORIGIN}/login/${kind}/callback`,
		response_type: 'code',
		scope,
		state,
		code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
		code_challenge_method: 'S256'
	}).toString();
	const first = await browser.request(authorize.href);
	expect(first.status).toBe(303);
	const pageUrl = new URL(first.headers.get('location') ?? '', authorize);
	expect(pageUrl.origin).toBe(provider.baseUrl);
	const page = await browser.request(pageUrl.href);
	expect(page.status).toBe(200);
	expect(page.headers.get('content-type')).toMatch(/^text\/html/);
	return { browser, state, codeVerifier, pageUrl, html: await page.text() };
}

function formAction(html: string, pageUrl: URL): string {
	const action = /<form[^>]*\smethod="post"[^>]*\saction="([^"]+)"/.exec(html)?.[1];
	expect(action).toBeTruthy();
	return new URL(action ?? '', pageUrl).href;
}

function post(browser: Browser, url: string, fields: Record<string, string>) {
	return browser.followUntilCallback(url, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams(fields).toString()
	});
}

function decodeJwtPayload(jwt: string): Record<string, unknown> {
	const [, payload = ''] = jwt.split('.');
	return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function exchange(provider: DevProvider, kind: string, code: string, codeVerifier: string) {
	const response = await fetch(`${provider.baseUrl}/oauth/token`, {
		method: 'POST',
		headers: {
			Authorization: `Basic ${Buffer.from(`${provider.clientId}:${provider.clientSecret}`).toString('base64')}`,
			'Content-Type': 'application/x-www-form-urlencoded',
			Accept: 'application/json'
		},
		body: new URLSearchParams({
			grant_type: 'authorization_code',
			code,
			redirect_uri: `${ORIGIN}/login/${kind}/callback`,
			code_verifier: codeVerifier
		}).toString()
	});
	return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

type Users = [DevUser, DevUser, ...DevUser[]];

const cases: { kind: 'orcid' | 'clerk'; scope: string; users: Users; heading: string }[] = [
	{ kind: 'orcid', scope: 'openid', users: DEV_ORCID_USERS as Users, heading: 'ORCID (development stand-in)' },
	{ kind: 'clerk', scope: 'openid profile email', users: DEV_CLERK_USERS as Users, heading: 'Clerk (development stand-in)' }
];

describe('local identity provider', () => {
	it('lists the required test users first', () => {
		expect(DEV_ORCID_USERS[0]).toEqual({ sub: '0000-0002-1825-0097', name: 'Josiah Carberry' });
		expect(DEV_CLERK_USERS[0]).toEqual({ sub: 'user_2demoAlice0000000000000', name: 'Alice Example', email: 'alice@lab.example' });
		expect(DEV_CLERK_USERS).toContainEqual(expect.objectContaining({ name: 'Lab Technician', email: 'tech@lab.example' }));
		expect(DEV_ORCID_USERS.length).toBeGreaterThanOrEqual(2);
		expect(DEV_CLERK_USERS.length).toBeGreaterThanOrEqual(2);
	});

	it('serves discovery with its loopback issuer and the /oauth/* endpoints', async () => {
		for (const { kind } of cases) {
			const provider = idp[kind];
			expect(provider.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
			expect(provider.clientId).toBe(`doorcode-dev-${kind}`);
			const response = await fetch(`${provider.baseUrl}/.well-known/openid-configuration`);
			expect(response.status).toBe(200);
			const metadata = (await response.json()) as Record<string, unknown>;
			expect(metadata).toMatchObject({
				issuer: provider.baseUrl,
				authorization_endpoint: `${provider.baseUrl}/oauth/authorize`,
				token_endpoint: `${provider.baseUrl}/oauth/token`,
				userinfo_endpoint: `${provider.baseUrl}/oauth/userinfo`,
				jwks_uri: `${provider.baseUrl}/oauth/jwks`,
				code_challenge_methods_supported: ['S256']
			});
		}
	});

	describe.each(cases)('$kind stand-in', ({ kind, scope, users, heading }) => {
		it('signs the chosen user in with authorization code + PKCE: the code exchange (Basic auth) yields an ID token and userinfo for that user', async () => {
			const provider = idp[kind];
			const { browser, state, codeVerifier, pageUrl, html } = await startSignIn(provider, kind, scope);

			expect(html).toContain(heading);
			expect(html).toMatch(/<fieldset>\s*<legend>[^<]+<\/legend>/);
			for (const user of users) {
				expect(html).toContain(user.name);
				expect(html).toContain(user.email ?? user.sub);
				expect(html).toContain(`value="${user.sub}"`);
			}
			const radios = [...html.matchAll(/<input type="radio"[^>]*>/g)].map((m) => m[0]);
			expect(radios).toHaveLength(users.length);
			expect(radios[0] ?? '').toContain(' checked');
			expect(radios.slice(1).some((r) => r.includes(' checked'))).toBe(false);
			expect(html).toMatch(/<button type="submit"[^>]*>Sign in<\/button>/);
			expect(html).toMatch(/<button type="submit"[^>]*>Cancel<\/button>/);
			expect(html).not.toMatch(/<script/i);

			const callback = await post(browser, formAction(html, pageUrl), { user: users[0].sub, action: 'sign-in' });
			expect(`${callback.origin}${callback.pathname}`).toBe(`${ORIGIN}/login/${kind}/callback`);
			expect(callback.searchParams.get('state')).toBe(state);
			const code = callback.searchParams.get('code');
			expect(code).toBeTruthy();

			const tokens = await exchange(provider, kind, code ?? '', codeVerifier);
			expect(tokens.status).toBe(200);
			expect(tokens.body.token_type).toBe('Bearer');
			expect(typeof tokens.body.access_token).toBe('string');
			expect(String(tokens.body.access_token).split('.')).toHaveLength(1); // opaque, not a JWT
			const idToken = decodeJwtPayload(String(tokens.body.id_token));
			expect(idToken).toMatchObject({ sub: users[0].sub, iss: provider.baseUrl, aud: provider.clientId });

			const userinfo = await fetch(`${provider.baseUrl}/oauth/userinfo`, {
				headers: { Authorization: `Bearer ${String(tokens.body.access_token)}`, Accept: 'application/json' }
			});
			expect(userinfo.status).toBe(200);
			const profile = (await userinfo.json()) as Record<string, unknown>;
			expect(profile.sub).toBe(users[0].sub);
			expect(profile.name).toBe(users[0].name);
			if (kind === 'clerk') expect(profile).toMatchObject({ email: users[0].email, email_verified: true });
			else expect(profile.email).toBeUndefined();
		});

		it('refuses the code exchange when the PKCE code_verifier does not match', async () => {
			const provider = idp[kind];
			const { browser, pageUrl, html } = await startSignIn(provider, kind, scope);
			const callback = await post(browser, formAction(html, pageUrl), { user: users[0].sub, action: 'sign-in' });
			const wrong = await exchange(provider, kind, callback.searchParams.get('code') ?? '', randomBytes(32).toString('base64url'));
			expect(wrong.status).toBe(400);
			expect(wrong.body.error).toBe('invalid_grant');
		});

		it("works with doorcode's own client code: arctic's OAuth2Client (PKCE S256, client_secret_basic)", async () => {
			const provider = idp[kind];
			const client = new OAuth2Client(provider.clientId, provider.clientSecret, `${ORIGIN}/login/${kind}/callback`);
			const state = generateState();
			const codeVerifier = generateCodeVerifier();
			const url = client.createAuthorizationURLWithPKCE(`${provider.baseUrl}/oauth/authorize`, state, CodeChallengeMethod.S256, codeVerifier, scope.split(' '));
			const browser = new Browser();
			const first = await browser.request(url.href);
			const pageUrl = new URL(first.headers.get('location') ?? '', url);
			const html = await (await browser.request(pageUrl.href)).text();
			const callback = await post(browser, formAction(html, pageUrl), { user: users[1].sub, action: 'sign-in' });
			expect(callback.searchParams.get('state')).toBe(state);
			const tokens = await client.validateAuthorizationCode(`${provider.baseUrl}/oauth/token`, callback.searchParams.get('code') ?? '', codeVerifier);
			expect((decodeIdToken(tokens.idToken()) as { sub?: string }).sub).toBe(users[1].sub);
		});

		it('shows the user list on every sign-in, so the next sign-in can choose another user', async () => {
			const provider = idp[kind];
			const first = await startSignIn(provider, kind, scope);
			await post(first.browser, formAction(first.html, first.pageUrl), { user: users[0].sub, action: 'sign-in' });

			// Same browser (same cookies), second authorization: the page is shown again.
			const codeVerifier = randomBytes(32).toString('base64url');
			const authorize = new URL(`${provider.baseUrl}/oauth/authorize`);
			authorize.search = new URLSearchParams({
				client_id: provider.clientId,
				redirect_uri: `${ORIGIN}/login/${kind}/callback`,
				response_type: 'code',
				scope,
				state: 'second',
				code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
				code_challenge_method: 'S256'
			}).toString();
			const response = await first.browser.request(authorize.href);
			expect(response.status).toBe(303);
			const pageUrl = new URL(response.headers.get('location') ?? '', authorize);
			expect(pageUrl.pathname).toMatch(/^\/interaction\//);
			const html = await (await first.browser.request(pageUrl.href)).text();
			const callback = await post(first.browser, formAction(html, pageUrl), { user: users[1].sub, action: 'sign-in' });
			const tokens = await exchange(provider, kind, callback.searchParams.get('code') ?? '', codeVerifier);
			expect(decodeJwtPayload(String(tokens.body.id_token)).sub).toBe(users[1].sub);
		});

		it('Cancel sends the browser to the callback with error=access_denied and the same state', async () => {
			const provider = idp[kind];
			const { browser, state, pageUrl, html } = await startSignIn(provider, kind, scope);
			const callback = await post(browser, formAction(html, pageUrl), { user: users[0].sub, action: 'cancel' });
			expect(`${callback.origin}${callback.pathname}`).toBe(`${ORIGIN}/login/${kind}/callback`);
			expect(callback.searchParams.get('error')).toBe('access_denied');
			expect(callback.searchParams.get('error_description')).toBe('The user cancelled the sign-in');
			expect(callback.searchParams.get('state')).toBe(state);
			expect(callback.searchParams.get('code')).toBeNull();
		});

		it('refuses an unknown test user with a 400 page', async () => {
			const provider = idp[kind];
			const { browser, pageUrl, html } = await startSignIn(provider, kind, scope);
			const response = await browser.request(formAction(html, pageUrl), {
				method: 'POST',
				headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
				body: new URLSearchParams({ user: 'someone-else', action: 'sign-in' }).toString()
			});
			expect(response.status).toBe(400);
			expect(await response.text()).toContain('Unknown test user');
		});

		it('refuses an authorization request without PKCE', async () => {
			const provider = idp[kind];
			const authorize = new URL(`${provider.baseUrl}/oauth/authorize`);
			authorize.search = new URLSearchParams({
				client_id: provider.clientId,
				redirect_uri: `${ORIGIN}/login/${kind}/callback`,
				response_type: 'code',
				scope,
				state: 'no-pkce'
			}).toString();
			const response = await fetch(authorize, { redirect: 'manual' });
			const location = new URL(response.headers.get('location') ?? '', authorize);
			expect(`${location.origin}${location.pathname}`).toBe(`${ORIGIN}/login/${kind}/callback`);
			expect(location.searchParams.get('error')).toBe('invalid_request');
			expect(location.searchParams.get('state')).toBe('no-pkce');
		});

		it('refuses a redirect_uri other than the registered callback', async () => {
			const provider = idp[kind];
			const authorize = new URL(`${provider.baseUrl}/oauth/authorize`);
			authorize.search = new URLSearchParams({
				client_id: provider.clientId,
				redirect_uri: 'http://localhost:4999/elsewhere',
				response_type: 'code',
				scope,
				state: 'x',
				code_challenge: 'a'.repeat(43),
				code_challenge_method: 'S256'
			}).toString();
			const response = await fetch(authorize, { redirect: 'manual' });
			expect(response.status).toBe(400);
			expect(response.headers.get('location')).toBeNull();
		});
	});
});
