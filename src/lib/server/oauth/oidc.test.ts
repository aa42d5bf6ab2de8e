import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT, type Client } from '../core/clients';
import { approveDeviceAuthorization, createDeviceAuthorization } from './device-authorizations';
import { pollDeviceCode } from './device-grant';
import { approveOnBehalf } from '../browser/admin';
import { jsonWebKeySet, userinfoEndpoint } from './endpoints';
import { readiness } from '../ops/probes';
import { ERASE_AFTER_RETIRED_MS, keyring, openPrivateKey, prepareSigningKeys, PUBLISH_AHEAD_MS, SigningKeysUnusable } from './signing-keys';
import { sweep } from '../ops/sweeper';
import { actor, bearer, context, testServices, USERINFO_URL, type TestServices } from '../../../../tests/support/test-services';
import { authenticateAccessToken, introspectToken, refreshTokens, revokeToken, type TokenResponse } from './tokens';
import { normalizeUserCode } from './user-code';

const OIDC_CLIENT: Client = { id: 'oidc-cli', name: 'OIDC CLI', type: 'public', scopes: ['openid', 'profile', 'email', 'read'] };
const JWT_CLIENT: Client = {
	id: 'jwt-cli',
	name: 'JWT CLI',
	type: 'public',
	scopes: ['openid', 'read'],
	accessTokenFormat: 'jwt',
	audience: 'https://api.example.org',
	accessTokenTtlSeconds: 300
};
/** JWT access tokens for doorcode itself (no audience of its own): its userinfo accepts them. */
const OWN_JWT_CLIENT: Client = { id: 'own-jwt-cli', name: 'Own JWT CLI', type: 'public', scopes: ['profile', 'read'], accessTokenFormat: 'jwt' };
const ISSUER = 'https://login.example.org';
const DAY = 86_400_000;
const T0 = 1_800_000_000_000;
const NO_REST = { restFactor: 0, minRestMs: 0 };

let services: TestServices;
beforeEach(async () => {
	services = await testServices({
		clients: [DEMO_CLIENT, OIDC_CLIENT, JWT_CLIENT, OWN_JWT_CLIENT],
		keyEncryptionSecret: 'a test secret that is long enough for the rule'
	});
});
afterEach(() => services.dispose());

/** A device login approved by Josiah Carberry at `now`, and the token response the CLI gets. */
async function login(client: Client, scope: string, now = T0): Promise<TokenResponse> {
	const created = (await createDeviceAuthorization(services, client, scope, null, context(now))).body as { device_code: string; user_code: string };
	const owner = await services.store.upsertUser(
		{ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: 'Josiah Carberry', email: 'josiah@lab.example' },
		now
	);
	const userCode = normalizeUserCode(created.user_code) as string;
	await approveDeviceAuthorization(services, actor(owner), { userCode, ownerId: owner.id, ownerSub: owner.sub, grantedScope: scope, label: null }, now);
	const answer = await pollDeviceCode(services, client, created.device_code, null, context(now + 1_000));
	expect(answer.status).toBe(200);
	return answer.body as TokenResponse;
}

const jwksAt = async (now: number) => createLocalJWKSet({ keys: ((await jsonWebKeySet(services, context(now))).body as { keys: JWK[] }).keys });

describe('ID tokens (OpenID Connect Core §2)', () => {
	it('a client granted openid gets an ID token: iss, sub, aud, iat, exp, auth_time, and name and email when granted', async () => {
		const tokens = await login(OIDC_CLIENT, 'openid profile email');
		const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, await jwksAt(T0 + 2_000), {
			issuer: ISSUER,
			audience: 'oidc-cli',
			currentDate: new Date(T0 + 2_000)
		});
		expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT' });
		expect(payload).toEqual({
			iss: ISSUER,
			sub: 'orcid:0000-0002-1825-0097',
			aud: 'oidc-cli',
			iat: Math.floor((T0 + 1_000) / 1000),
			exp: Math.floor((T0 + 1_000) / 1000) + 3600,
			auth_time: Math.floor(T0 / 1000),
			name: 'Josiah Carberry',
			email: 'josiah@lab.example',
			email_verified: true
		});
	});

	it('name and email only with profile and email; no ID token without openid, nor for a client that may not ask for it', async () => {
		const narrow = await login(OIDC_CLIENT, 'openid read');
		const { payload } = await jwtVerify(narrow.id_token!, await jwksAt(T0 + 2_000), { currentDate: new Date(T0 + 2_000) });
		expect(payload).not.toHaveProperty('name');
		expect(payload).not.toHaveProperty('email');
		expect(await login(OIDC_CLIENT, 'read')).not.toHaveProperty('id_token');
		expect(await login(DEMO_CLIENT, 'read write')).not.toHaveProperty('id_token');
		expect((await createDeviceAuthorization(services, DEMO_CLIENT, 'openid', null, context(T0))).body).toEqual({
			error: 'invalid_scope',
			error_description: 'This client may not ask for: openid.'
		});
	});

	it('a refresh gives a new ID token for the same person, with the original auth_time', async () => {
		const tokens = await login(OIDC_CLIENT, 'openid profile');
		const refreshed = (await refreshTokens(services, OIDC_CLIENT, tokens.refresh_token, null, context(T0 + 60_000))).body as TokenResponse;
		const { payload } = await jwtVerify(refreshed.id_token!, await jwksAt(T0 + 61_000), { audience: 'oidc-cli', currentDate: new Date(T0 + 61_000) });
		expect(payload).toMatchObject({ sub: 'orcid:0000-0002-1825-0097', auth_time: Math.floor(T0 / 1000), iat: Math.floor((T0 + 60_000) / 1000) });
	});
});

describe('what tokens say about their owner', () => {
	it('userinfo releases name only with profile and email only with email (OIDC Core §5.4)', async () => {
		const ask = async (scope: string) => {
			const tokens = await login(OIDC_CLIENT, scope);
			return (await userinfoEndpoint(services, { ...context(T0 + 2_000), authorization: `Bearer ${tokens.access_token}` })).body;
		};
		expect(await ask('read')).toEqual({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', scope: 'read', client_id: 'oidc-cli' });
		expect(await ask('profile read')).toMatchObject({ name: 'Josiah Carberry' });
		expect(await ask('profile read')).not.toHaveProperty('email');
		expect(await ask('email')).toEqual({
			sub: 'orcid:0000-0002-1825-0097',
			provider: 'orcid',
			email: 'josiah@lab.example',
			email_verified: true,
			scope: 'email',
			client_id: 'oidc-cli'
		});
	});

	it("an approval on the owner's behalf says so: act names the admin, no auth_time, the typed address unverified", async () => {
		const admin = await services.store.upsertUser({ sub: 'orcid:0000-0001-5109-3700', provider: 'orcid', name: 'Laure Haak', email: null }, T0);
		const created = (await createDeviceAuthorization(services, OIDC_CLIENT, 'openid email read', null, context(T0))).body as {
			device_code: string;
			user_code: string;
		};
		const decision = await approveOnBehalf(
			services,
			actor(admin),
			{ userCode: created.user_code, owner: 'tech@lab.example', label: 'kiosk', scopes: ['openid', 'email', 'read'] },
			T0
		);
		expect(decision.ok).toBe(true);
		const tokens = (await pollDeviceCode(services, OIDC_CLIENT, created.device_code, null, context(T0 + 1_000))).body as TokenResponse;
		const { payload } = await jwtVerify(tokens.id_token!, await jwksAt(T0 + 2_000), { audience: 'oidc-cli', currentDate: new Date(T0 + 2_000) });
		expect(payload).not.toHaveProperty('auth_time');
		expect(payload).toMatchObject({
			sub: 'email:tech@lab.example',
			email: 'tech@lab.example',
			email_verified: false,
			act: { sub: 'orcid:0000-0001-5109-3700' }
		});
		expect((await userinfoEndpoint(services, { ...context(T0 + 2_000), authorization: `Bearer ${tokens.access_token}` })).body).toMatchObject({
			sub: 'email:tech@lab.example',
			email_verified: false,
			act: { sub: 'orcid:0000-0001-5109-3700' }
		});
		const refreshed = (await refreshTokens(services, OIDC_CLIENT, tokens.refresh_token, null, context(T0 + 60_000))).body as TokenResponse;
		const again = await jwtVerify(refreshed.id_token!, await jwksAt(T0 + 61_000), { audience: 'oidc-cli', currentDate: new Date(T0 + 61_000) });
		expect(again.payload).not.toHaveProperty('auth_time');
		expect(again.payload.act).toEqual({ sub: 'orcid:0000-0001-5109-3700' });
	});

	it('a revoked, used or expired refresh token is refused before anything is signed', async () => {
		const tokens = await login(OIDC_CLIENT, 'openid read');
		const used = (await refreshTokens(services, OIDC_CLIENT, tokens.refresh_token, null, context(T0 + 10_000))).body as TokenResponse;
		// From here on signing would fail: the keyring is read again with a secret that opens nothing.
		services.config.keyEncryptionSecret = 'a different secret that opens none of the stored keys';
		const later = context(T0 + 10 * 60_000);
		expect((await refreshTokens(services, OIDC_CLIENT, tokens.refresh_token, null, later)).body).toMatchObject({ error: 'invalid_grant' });
		expect((await refreshTokens(services, OIDC_CLIENT, used.refresh_token, null, later)).body).toMatchObject({ error: 'invalid_grant' });
		const expired = await login(OIDC_CLIENT, 'read', T0);
		expect((await refreshTokens(services, OIDC_CLIENT, expired.refresh_token, null, context(T0 + 31 * DAY))).body).toMatchObject({ error: 'invalid_grant' });
	});
});

describe('JWT access tokens (RFC 9068)', () => {
	it('verify with the JWK Set alone: typ at+jwt, iss, sub, aud from the client, exp from its access_token_ttl, jti, client_id, scope', async () => {
		const tokens = await login(JWT_CLIENT, 'read');
		expect(tokens.expires_in).toBe(300);
		const { payload, protectedHeader } = await jwtVerify(tokens.access_token, await jwksAt(T0 + 2_000), {
			issuer: ISSUER,
			audience: 'https://api.example.org',
			typ: 'at+jwt',
			currentDate: new Date(T0 + 2_000)
		});
		expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
		expect(payload).toEqual({
			iss: ISSUER,
			sub: 'orcid:0000-0002-1825-0097',
			aud: 'https://api.example.org',
			iat: Math.floor((T0 + 1_000) / 1000),
			exp: Math.floor((T0 + 1_000) / 1000) + 300,
			jti: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
			client_id: 'jwt-cli',
			scope: 'read'
		});
	});

	it('a tampered token does not verify', async () => {
		const tokens = await login(JWT_CLIENT, 'read');
		const [header, payload, signature] = tokens.access_token.split('.');
		const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
		const forged = [header, Buffer.from(JSON.stringify({ ...claims, scope: 'read write admin' })).toString('base64url'), signature].join('.');
		await expect(jwtVerify(forged, await jwksAt(T0 + 2_000), { currentDate: new Date(T0 + 2_000) })).rejects.toMatchObject({
			code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
		});
	});

	it('userinfo and introspection accept one made for doorcode, and refuse it at once when it is revoked', async () => {
		const tokens = await login(OWN_JWT_CLIENT, 'read');
		expect((await authenticateAccessToken(services, bearer(T0 + 2_000, tokens.access_token), USERINFO_URL)).ok).toBe(true);
		expect((await introspectToken(services, tokens.access_token, T0 + 2_000)).body).toMatchObject({
			active: true,
			client_id: 'own-jwt-cli',
			sub: 'orcid:0000-0002-1825-0097',
			aud: ISSUER
		});
		await revokeToken(services, OWN_JWT_CLIENT, tokens.access_token, context(T0 + 3_000));
		expect((await authenticateAccessToken(services, bearer(T0 + 4_000, tokens.access_token), USERINFO_URL)).ok).toBe(false);
		expect((await introspectToken(services, tokens.access_token, T0 + 4_000)).body).toEqual({ active: false });
	});

	it('one made for another API is refused at userinfo (RFC 9068 §4), and introspection names that API as its aud', async () => {
		const tokens = await login(JWT_CLIENT, 'read');
		const refused = await authenticateAccessToken(services, bearer(T0 + 2_000, tokens.access_token), USERINFO_URL);
		expect(refused.ok || refused.error.body).toEqual({
			error: 'invalid_token',
			error_description: 'The access token is meant for another API (its aud), not for this server.'
		});
		expect((await introspectToken(services, tokens.access_token, T0 + 2_000)).body).toMatchObject({ active: true, aud: 'https://api.example.org' });
	});
});

describe('signing keys', () => {
	it('rotate: the next key is published a day before it signs, and a retired key stays published until its tokens expired', async () => {
		const first = await keyring(services, T0);
		const before = await login(JWT_CLIENT, 'read', T0 + 29 * DAY);
		expect(JSON.parse(Buffer.from(before.access_token.split('.')[0], 'base64url').toString()).kid).toBe(first.signer.kid);

		const dayBefore = await keyring(services, T0 + 30 * DAY - PUBLISH_AHEAD_MS + 1);
		expect(dayBefore.signer.kid).toBe(first.signer.kid);
		expect(dayBefore.published.map((key) => key.kid)).toHaveLength(2);

		const after = await keyring(services, T0 + 30 * DAY + 1);
		expect(after.signer.kid).not.toBe(first.signer.kid);
		// The token signed by the retired key still verifies while it lives.
		await expect(jwtVerify(before.access_token, await jwksAt(T0 + 30 * DAY + 1), { currentDate: new Date(T0 + 29 * DAY + 60_000) })).resolves.toBeDefined();
		// Once every token it may have signed has expired (a client's access_token_ttl may be a day, and
		// clients change while a key signs), it is no longer published.
		expect((await keyring(services, first.signer.retiresAt + DAY - 3_600_000)).published.map((key) => key.kid)).toContain(first.signer.kid);
		const later = await keyring(services, first.signer.retiresAt + DAY);
		expect(later.published.map((key) => key.kid)).not.toContain(first.signer.kid);
	});

	it('the JWK Set holds public keys only, and private keys are stored encrypted with KEY_ENCRYPTION_SECRET', async () => {
		await keyring(services, T0);
		const published = ((await jsonWebKeySet(services, context(T0))).body as { keys: JWK[] }).keys;
		for (const key of published) {
			expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
			for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret);
		}
		const [row] = await services.store.listSigningKeys(T0);
		expect(row.privateJwk).toMatch(/^aes256gcm:/);
		expect(row.privateJwk).not.toContain('"d"');
		expect(JSON.parse(openPrivateKey('a test secret that is long enough for the rule', row.privateJwk))).toHaveProperty('d');
		expect(() => openPrivateKey('another secret, not the one it was sealed with', row.privateJwk)).toThrow();
	});

	it('forty concurrent first requests load the keyring once: one key is made, not forty', async () => {
		const keyrings = await Promise.all(Array.from({ length: 40 }, () => keyring(services, T0)));
		expect(new Set(keyrings).size).toBe(1);
		expect(await services.store.listSigningKeys(T0)).toHaveLength(1);
	});

	it('keys stored in clear before KEY_ENCRYPTION_SECRET was set are sealed at start-up, and still sign', async () => {
		services.config.keyEncryptionSecret = null;
		const before = await keyring(services, T0);
		expect((await services.store.listSigningKeys(T0))[0].privateJwk).toMatch(/^plain:/);
		services.config.keyEncryptionSecret = 'the secret set later, long enough for the rule';
		await prepareSigningKeys(services, T0 + 2 * 60_000);
		const [row] = await services.store.listSigningKeys(T0);
		expect(row.privateJwk).toMatch(/^aes256gcm:/);
		expect((await keyring(services, T0 + 4 * 60_000)).signer.kid).toBe(before.signer.kid);
	});

	it('a KEY_ENCRYPTION_SECRET that opens no key is found at start-up, and the instance is not ready', async () => {
		await keyring(services, T0);
		expect(await readiness(services, T0 + 1_000)).toEqual({ status: 200, body: { status: 'ready' } });
		services.config.keyEncryptionSecret = 'not the secret the keys were sealed with, though long';
		await expect(prepareSigningKeys(services, T0 + 2 * 60_000)).rejects.toBeInstanceOf(SigningKeysUnusable);
		expect(await readiness(services, T0 + 3 * 60_000)).toMatchObject({
			status: 503,
			body: { status: 'unavailable', reason: expect.stringMatching(/cannot be opened: KEY_ENCRYPTION_SECRET is not the one it was encrypted with$/) }
		});
	});

	it('a retired key loses its private half an hour after it stops signing, and goes once it is no longer published', async () => {
		services.config.accessTokenTtlSeconds = 6 * 3600;
		const first = await keyring(services, T0);
		await keyring(services, T0 + 30 * DAY + 1);
		const privateOf = async () => (await services.store.listSigningKeys(0)).find((row) => row.kid === first.signer.kid)?.privateJwk;
		await sweep(services, T0 + 30 * DAY + 1, NO_REST);
		expect(await privateOf()).toMatch(/^aes256gcm:/);
		await sweep(services, T0 + 30 * DAY + ERASE_AFTER_RETIRED_MS + 1, NO_REST);
		expect(await privateOf()).toBe('erased');
		// Still published, for the tokens it signed, until the longest of them (six hours here) has expired.
		expect((await keyring(services, T0 + 30 * DAY + ERASE_AFTER_RETIRED_MS + 1)).published.map((key) => key.kid)).toContain(first.signer.kid);
		await sweep(services, T0 + 31 * DAY, NO_REST);
		expect(await services.store.listSigningKeys(0)).toHaveLength(1);
	});
});
