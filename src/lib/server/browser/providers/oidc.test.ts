import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config';
import type { OidcProviderConfig } from '../../core/providers';
import { configWithProvider } from '../../../../../tests/support/providers-config.ts';
import { OpenIdIssuer, type IssuerCacheTimes } from './oidc';
import type { SignInResult, StartOptions } from './upstream';
import { HttpBrowser } from '../../../../../tests/support/http-browser.ts';
import { ISSUER_USERS, signInWithoutPage, startTestIssuer, walkSignIn, type IdTokenFault, type TestIssuer } from '../../../../../tests/support/oidc-issuer.ts';
import { freePort } from '../../../../../tests/support/spawned-server.ts';

/** kind: "oidc" against a real OpenID provider (oidc-provider) on loopback, found by discovery. */

const ORIGIN = 'http://localhost:4998';
const PLAIN: StartOptions = { anotherAccount: false };
const ANOTHER_ACCOUNT: StartOptions = { anotherAccount: true };
const FRESH: IssuerCacheTimes = { discoveryMaxAgeMs: 60 * 60 * 1000, jwksCooldownMs: 30_000 };

let acme: TestIssuer;

beforeAll(async () => {
	acme = await startTestIssuer({ origin: ORIGIN, id: 'acme' });
});

afterAll(async () => {
	await acme?.close();
});

const configured = (entry: Record<string, unknown>) => configWithProvider<OidcProviderConfig>(ORIGIN, entry);

/** A whole sign-in: start, the person at the issuer, the callback's completion. */
async function signIn(issuer: OpenIdIssuer, config: Config, sub: string): Promise<SignInResult> {
	const start = await issuer.startSignIn(config, PLAIN);
	if (!start.ok) throw new Error(`the sign-in did not start: ${start.detail}`);
	const callback = await walkSignIn(start.value.url, ORIGIN, sub);
	expect(callback.get('state')).toBe(start.value.state);
	return issuer.completeSignIn(config, { code: callback.get('code') ?? '', codeVerifier: start.value.codeVerifier, nonce: start.value.nonce });
}

describe('an OpenID Connect issuer by discovery', () => {
	it('sends the browser to the discovered authorization endpoint with PKCE (S256), state, nonce, the scopes and the callback', async () => {
		const { config, provider } = configured(acme.entry('Acme SSO'));
		const start = await new OpenIdIssuer(provider).startSignIn(config, PLAIN);
		expect(start.ok).toBe(true);
		if (!start.ok) return;
		const { url, state, nonce, codeVerifier } = start.value;
		expect(`${url.origin}${url.pathname}`).toBe(`${acme.issuer}/auth`);
		expect(Object.fromEntries(url.searchParams)).toEqual({
			response_type: 'code',
			client_id: acme.clientId,
			redirect_uri: `${ORIGIN}/login/acme/callback`,
			state,
			code_challenge_method: 'S256',
			code_challenge: expect.stringMatching(/^[\w-]{43}$/),
			scope: 'openid profile email groups',
			nonce
		});
		expect(nonce).toMatch(/^[\w-]{20,}$/);
		expect(new Set([state, nonce, codeVerifier]).size).toBe(3);
	});

	it('signs Ada in: the ID token validated, her name, verified address and groups (from userinfo, as the ID token leaves them out)', async () => {
		const { config, provider } = configured(acme.entry('Acme SSO'));
		const userinfoBefore = acme.requestsTo('/me');
		expect(await signIn(new OpenIdIssuer(provider), config, ISSUER_USERS.ada.sub)).toEqual({
			ok: true,
			identity: {
				provider: 'acme',
				sub: 'acme:ada-0001',
				name: 'Ada Lovelace',
				email: 'ada@acme.example',
				groups: ['acme/platform', 'acme/admins']
			}
		});
		expect(acme.requestsTo('/me')).toBe(userinfoBefore + 1);
	});

	it('keeps no address the issuer has not verified (Grace), and a person without the groups claim has no groups (Nora)', async () => {
		const { config, provider } = configured(acme.entry('Acme SSO'));
		const issuer = new OpenIdIssuer(provider);
		const grace = await signIn(issuer, config, ISSUER_USERS.grace.sub);
		expect(grace.ok && grace.identity).toMatchObject({ sub: 'acme:grace-0002', email: null, groups: ['acme/research'] });
		const nora = await signIn(issuer, config, ISSUER_USERS.nora.sub);
		expect(nora.ok && nora.identity).toMatchObject({ sub: 'acme:nora-0003', email: 'nora@acme.example', groups: [] });
	});

	it('without groups_claim the groups are not read, and say nothing (null keeps what is stored)', async () => {
		const entry = acme.entry('Acme SSO');
		delete entry.groups_claim;
		const { config, provider } = configured(entry);
		const ada = await signIn(new OpenIdIssuer(provider), config, ISSUER_USERS.ada.sub);
		expect(ada.ok && ada.identity.groups).toBeNull();
	});

	it('reads name, address and groups from the ID token when it carries them, without asking userinfo', async () => {
		const rich = await startTestIssuer({ origin: ORIGIN, id: 'rich', claimsInIdToken: true });
		try {
			const { config, provider } = configured(rich.entry('Rich SSO'));
			const ada = await signIn(new OpenIdIssuer(provider), config, ISSUER_USERS.ada.sub);
			expect(ada.ok && ada.identity).toEqual({
				provider: 'rich',
				sub: 'rich:ada-0001',
				name: 'Ada Lovelace',
				email: 'ada@acme.example',
				groups: ['acme/platform', 'acme/admins']
			});
			expect(rich.requestsTo('/me')).toBe(0);
		} finally {
			await rich.close();
		}
	});

	it('keeps the discovery document per instance while it is fresh, and fetches it again once it has expired', async () => {
		const { config, provider } = configured(acme.entry('Acme SSO'));
		const before = acme.requestsTo('/.well-known/openid-configuration');
		const cached = new OpenIdIssuer(provider, FRESH);
		await cached.startSignIn(config, PLAIN);
		await Promise.all([cached.startSignIn(config, PLAIN), cached.startSignIn(config, PLAIN)]);
		expect(acme.requestsTo('/.well-known/openid-configuration')).toBe(before + 1);
		const expiring = new OpenIdIssuer(provider, { ...FRESH, discoveryMaxAgeMs: 0 });
		await expiring.startSignIn(config, PLAIN);
		await expiring.startSignIn(config, PLAIN);
		expect(acme.requestsTo('/.well-known/openid-configuration')).toBe(before + 3);
	});

	it('follows a key rotation: the next sign-in is signed with a new key, and the JWK Set is fetched again for it', async () => {
		const rotating = await startTestIssuer({ origin: ORIGIN, id: 'rotating' });
		try {
			const { config, provider } = configured(rotating.entry('Rotating SSO'));
			const issuer = new OpenIdIssuer(provider, { ...FRESH, jwksCooldownMs: 0 });
			expect((await signIn(issuer, config, ISSUER_USERS.ada.sub)).ok).toBe(true);
			expect((await signIn(issuer, config, ISSUER_USERS.ada.sub)).ok).toBe(true);
			expect(rotating.requestsTo('/jwks')).toBe(1);
			await rotating.rotateSigningKey();
			expect(await signIn(issuer, config, ISSUER_USERS.grace.sub)).toMatchObject({ ok: true, identity: { sub: 'rotating:grace-0002' } });
			expect(rotating.requestsTo('/jwks')).toBe(2);
		} finally {
			await rotating.close();
		}
	});

	it.each<[IdTokenFault, RegExp]>([
		['signature', /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
		['audience', /ERR_JWT_CLAIM_VALIDATION_FAILED: unexpected "aud" claim value/],
		['nonce', /nonce is not the one this sign-in sent/],
		['expired', /ERR_JWT_EXPIRED/]
	])('refuses an ID token with a bad %s', async (fault, detail) => {
		const { config, provider } = configured(acme.entry('Acme SSO'));
		acme.setFault(fault);
		try {
			const result = await signIn(new OpenIdIssuer(provider), config, ISSUER_USERS.ada.sub);
			expect(result).toEqual({ ok: false, problem: 'invalid_token', detail: expect.stringMatching(detail) });
		} finally {
			acme.setFault(null);
		}
	});

	it('an authorization code is good once: the issuer refuses it the second time', async () => {
		const { config, provider } = configured(acme.entry('Acme SSO'));
		const issuer = new OpenIdIssuer(provider);
		const start = await issuer.startSignIn(config, PLAIN);
		if (!start.ok) throw new Error(start.detail);
		const callback = await walkSignIn(start.value.url, ORIGIN, ISSUER_USERS.ada.sub);
		const params = { code: callback.get('code') ?? '', codeVerifier: start.value.codeVerifier, nonce: start.value.nonce };
		expect((await issuer.completeSignIn(config, params)).ok).toBe(true);
		expect(await issuer.completeSignIn(config, params)).toEqual({
			ok: false,
			problem: 'refused',
			detail: 'the token endpoint refused the code (error invalid_grant)'
		});
	});

	it('an issuer that cannot be reached fails the sign-in, and the next sign-in asks it again once it is up', async () => {
		const port = await freePort();
		const { config, provider } = configured({ ...acme.entry('Late SSO'), id: 'late', issuer: `http://127.0.0.1:${port}` });
		const issuer = new OpenIdIssuer(provider);
		expect(await issuer.startSignIn(config, PLAIN)).toEqual({
			ok: false,
			problem: 'unreachable',
			detail: 'the discovery document could not be read (ECONNREFUSED)'
		});
		const late = await startTestIssuer({ origin: ORIGIN, id: 'late', port });
		try {
			const start = await issuer.startSignIn(config, PLAIN);
			expect(start.ok && `${start.value.url.origin}${start.value.url.pathname}`).toBe(`${late.issuer}/auth`);
		} finally {
			await late.close();
		}
	});

	it('refuses a discovery document that names another issuer', async () => {
		const { config, provider } = configured({ ...acme.entry('Acme SSO'), issuer: acme.issuer.replace('127.0.0.1', 'localhost') });
		expect(await new OpenIdIssuer(provider).startSignIn(config, PLAIN)).toEqual({
			ok: false,
			problem: 'unreachable',
			detail: `the discovery document names another issuer (${acme.issuer})`
		});
	});
});

describe('signing in with another account', () => {
	it('asks the issuer to authenticate the person again (prompt=login); a plain sign-in sends no prompt', async () => {
		const { config, provider } = configured(acme.entry('Acme SSO'));
		const issuer = new OpenIdIssuer(provider);
		const another = await issuer.startSignIn(config, ANOTHER_ACCOUNT);
		expect(another.ok && another.value.url.searchParams.getAll('prompt')).toEqual(['login']);
		const plain = await issuer.startSignIn(config, PLAIN);
		expect(plain.ok && plain.value.url.searchParams.has('prompt')).toBe(false);
	});

	it('an issuer that remembers Grace signs her straight back in; asked for another account it shows its page again, and Ada signs in', async () => {
		const sso = await startTestIssuer({ origin: ORIGIN, id: 'sso', remembersSignIn: true });
		try {
			const { config, provider } = configured(sso.entry('SSO'));
			const issuer = new OpenIdIssuer(provider);
			const browser = new HttpBrowser();
			const complete = async (start: Awaited<ReturnType<OpenIdIssuer['startSignIn']>>, callback: URLSearchParams | null) => {
				if (!start.ok || !callback) throw new Error('the sign-in did not come back');
				const { codeVerifier, nonce } = start.value;
				return issuer.completeSignIn(config, { code: callback.get('code') ?? '', codeVerifier, nonce });
			};

			const first = await issuer.startSignIn(config, PLAIN);
			if (!first.ok) throw new Error(first.detail);
			const grace = await complete(first, await walkSignIn(first.value.url, ORIGIN, ISSUER_USERS.grace.sub, 'sign-in', browser));
			expect(grace.ok && grace.identity.sub).toBe('sso:grace-0002');

			const again = await issuer.startSignIn(config, PLAIN);
			if (!again.ok) throw new Error(again.detail);
			const straightBack = await complete(again, await signInWithoutPage(again.value.url, ORIGIN, browser));
			expect(straightBack.ok && straightBack.identity.sub).toBe('sso:grace-0002');

			const switching = await issuer.startSignIn(config, ANOTHER_ACCOUNT);
			if (!switching.ok) throw new Error(switching.detail);
			expect(await signInWithoutPage(switching.value.url, ORIGIN, browser)).toBeNull();
			const switched = await issuer.startSignIn(config, ANOTHER_ACCOUNT);
			if (!switched.ok) throw new Error(switched.detail);
			const ada = await complete(switched, await walkSignIn(switched.value.url, ORIGIN, ISSUER_USERS.ada.sub, 'sign-in', browser));
			expect(ada.ok && ada.identity.sub).toBe('sso:ada-0001');
		} finally {
			await sso.close();
		}
	});
});
