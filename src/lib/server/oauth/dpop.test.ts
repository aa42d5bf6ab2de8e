import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeProof, proofKey, symmetricProof, unsignedProof, type ProofClaims, type ProofKey } from '../../../../tests/support/dpop';
import { actor, context, TEST_ORIGIN, testServices, USERINFO_URL, type TestServices } from '../../../../tests/support/test-services';
import { DEMO_CLIENT, DEVICE_CODE_GRANT_TYPE, type Client } from '../core/clients';
import { sha256Hex } from '../core/crypto';
import { sweep } from '../ops/sweeper';
import { approveDeviceAuthorization } from './device-authorizations';
import { verifyDpopProof } from './dpop';
import { deviceAuthorizationEndpoint, introspectionEndpoint, revocationEndpoint, tokenEndpoint, userinfoEndpoint } from './endpoints';
import type { OAuthResult } from './errors';
import { normalizeUserCode } from './user-code';

/** RFC 9449 (DPoP): proofs, and the device codes and tokens bound to their keys. */

const T0 = 1_800_000_000_000;
const SECONDS = (at: number) => Math.floor(at / 1000);
const DEVICE_URL = `${TEST_ORIGIN}/oauth/device_authorization`;
const TOKEN_URL = `${TEST_ORIGIN}/oauth/token`;
const REVOKE_URL = `${TEST_ORIGIN}/oauth/revoke`;

const SECRET = 'acme-api-secret-0123456789';
const RESOURCE_SERVER: Client = { id: 'acme-api', name: 'Acme API', type: 'confidential', scopes: ['read'], secretSha256: sha256Hex(SECRET) };
const DPOP_ONLY: Client = { id: 'dpop-cli', name: 'DPoP CLI', type: 'public', scopes: ['read'], dpopBoundAccessTokens: true };
const JWT_CLIENT: Client = { id: 'jwt-cli', name: 'JWT CLI', type: 'public', scopes: ['read'], accessTokenFormat: 'jwt' };

let services: TestServices;
let key: ProofKey;
let otherKey: ProofKey;

beforeEach(async () => {
	services = await testServices({ clients: [DEMO_CLIENT, RESOURCE_SERVER, DPOP_ONLY, JWT_CLIENT] });
	[key, otherKey] = await Promise.all([proofKey(), proofKey()]);
});
afterEach(() => services.dispose());

/** A proof by `by` for a POST to `url` at `now`. */
const proofFor = (by: ProofKey, url: string, now: number, claims: Partial<ProofClaims> = {}) =>
	makeProof(by, { htm: 'POST', htu: url, iat: SECONDS(now), ...claims });

const params = (fields: Record<string, string>) => new Map(Object.entries(fields));
const answer = async (result: Promise<OAuthResult>) => {
	const { status, body, headers } = await result;
	return { status, body: body as Record<string, unknown>, headers };
};
/** An RFC 6749 §5.2 refusal of the token or device authorization endpoint. */
const refusal = (error: string, description: string) => ({ status: 400, body: { error, error_description: description }, headers: expect.anything() });

/** POST /oauth/device_authorization, with a proof when `dpop` is given. */
const newCode = (fields: Record<string, string>, now: number, dpop: string | null = null) =>
	answer(deviceAuthorizationEndpoint(services, params(fields), context(now, { dpop })));
const poll = (deviceCode: string, now: number, dpop: string | null, clientId = 'demo-cli') =>
	answer(tokenEndpoint(services, params({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode, client_id: clientId }), context(now, { dpop })));
const refresh = (refreshToken: string, now: number, dpop: string | null, client: Record<string, string> = { client_id: 'demo-cli' }) =>
	answer(tokenEndpoint(services, params({ grant_type: 'refresh_token', refresh_token: refreshToken, ...client }), context(now, { dpop })));
const introspect = (token: string, now: number) =>
	answer(introspectionEndpoint(services, params({ token, client_id: RESOURCE_SERVER.id, client_secret: SECRET }), context(now)));
const userinfo = (authorization: string, now: number, dpop: string | null = null) =>
	answer(userinfoEndpoint(services, context(now, { method: 'GET', authorization, dpop })));
/** A userinfo proof by `by` for `accessToken`. */
const userinfoProof = (by: ProofKey, accessToken: string, now: number) => proofFor(by, USERINFO_URL, now, { htm: 'GET', accessToken });

async function approve(userCode: string, now: number) {
	const owner = await services.store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: null, email: null }, now);
	const code = normalizeUserCode(userCode) as string;
	const approved = await approveDeviceAuthorization(
		services,
		actor(owner),
		{ userCode: code, ownerId: owner.id, ownerSub: owner.sub, grantedScope: 'read', label: null },
		now
	);
	expect(approved.ok).toBe(true);
}

/** A device login of `clientId`, every request with a proof by `by`: its tokens. */
async function boundTokens(by: ProofKey, now: number, clientId = 'demo-cli') {
	const created = await newCode({ client_id: clientId }, now, await proofFor(by, DEVICE_URL, now));
	expect(created.status).toBe(200);
	await approve(created.body.user_code as string, now + 1_000);
	const tokens = await poll(created.body.device_code as string, now + 5_000, await proofFor(by, TOKEN_URL, now + 5_000), clientId);
	expect(tokens.status).toBe(200);
	return tokens.body as { access_token: string; refresh_token: string; token_type: string };
}

describe('DPoP proofs (RFC 9449 §4.3)', () => {
	const check = (proof: string, now = T0, target: { method?: string; url?: string; accessToken?: string } = {}) =>
		verifyDpopProof(services, proof, { method: target.method ?? 'POST', url: target.url ?? TOKEN_URL, accessToken: target.accessToken }, now);

	it('a proof for this request, made within a minute either way by the key it embeds, is taken once, with its key', async () => {
		for (const alg of ['ES256', 'EdDSA', 'RS256', 'PS256']) {
			const signer = await proofKey(alg);
			const proof = await proofFor(signer, TOKEN_URL, T0);
			expect(await check(proof), alg).toEqual({ ok: true, jkt: signer.jkt });
			expect(await check(proof, T0 + 1_000), alg).toEqual({
				ok: false,
				reason: 'This DPoP proof was used before: make a new proof, with a new jti, for every request.'
			});
		}
		for (const iat of [SECONDS(T0) - 60, SECONDS(T0) + 60]) expect(await check(await proofFor(key, TOKEN_URL, T0, { iat }))).toMatchObject({ ok: true });
		// htu is compared without query or fragment, after URL normalization (RFC 9449 §4.3).
		for (const htu of [`${TOKEN_URL}?x=1#y`, 'HTTPS://LOGIN.example.org:443/oauth/token'])
			expect(await check(await proofFor(key, htu, T0)), htu).toMatchObject({ ok: true });
		// The same jti by another key is another proof.
		const jti = 'one-jti';
		expect(await check(await proofFor(key, TOKEN_URL, T0, { jti }))).toMatchObject({ ok: true });
		expect(await check(await proofFor(otherKey, TOKEN_URL, T0, { jti }))).toMatchObject({ ok: true });
	});

	it('every proof that is garbled, unsigned, symmetric, for another request or time, or made with a private key shown, is refused, saying why', async () => {
		const claims = { htm: 'POST', htu: TOKEN_URL, iat: SECONDS(T0) };
		const refusals: [string, string, string][] = [
			['garbled', 'not a proof', 'The DPoP header must be one signed JWT (a DPoP proof).'],
			[
				'two proofs in one header',
				`${await proofFor(key, TOKEN_URL, T0)}, ${await proofFor(key, TOKEN_URL, T0)}`,
				'The DPoP header must be one signed JWT (a DPoP proof).'
			],
			['three parts that are not JSON', 'abc.def.ghi', 'The DPoP proof is not a JWT.'],
			['alg none', unsignedProof(key, claims), 'The DPoP header must be one signed JWT (a DPoP proof).'],
			['HS256', await symmetricProof(claims), "The DPoP proof's alg must be one of ES256, EdDSA, RS256, PS256."],
			['typ JWT', await makeProof(key, claims, { typ: 'JWT' }), 'The DPoP proof\'s typ must be "dpop+jwt".'],
			[
				'no jwk',
				await makeProof(key, claims, { jwk: undefined }),
				'The DPoP proof must embed its public key (jwk) in its header, of a kind its alg signs with.'
			],
			[
				'the private key embedded',
				await makeProof(key, claims, { jwk: key.privateJwk }),
				'The DPoP proof embeds a private key: embed the public key only, and make a new key pair.'
			],
			[
				'signed by another key',
				await makeProof(key, claims, { jwk: otherKey.publicJwk }),
				"The DPoP proof's signature does not verify with the key it embeds."
			],
			['GET for a POST', await proofFor(key, TOKEN_URL, T0, { htm: 'GET' }), 'The DPoP proof was made for another method (its htm); this request is POST.'],
			['another endpoint', await proofFor(key, REVOKE_URL, T0), `The DPoP proof was made for another URL (its htu); this endpoint is ${TOKEN_URL}.`],
			[
				'another server',
				await proofFor(key, 'https://evil.example/oauth/token', T0),
				`The DPoP proof was made for another URL (its htu); this endpoint is ${TOKEN_URL}.`
			],
			['61 s old', await proofFor(key, TOKEN_URL, T0, { iat: SECONDS(T0) - 61 }), 'The DPoP proof is too old: its iat must be within 60 seconds of now.'],
			[
				'61 s ahead',
				await proofFor(key, TOKEN_URL, T0, { iat: SECONDS(T0) + 61 }),
				"The DPoP proof was made in the future: its iat must be within 60 seconds of now. Check this machine's clock."
			],
			['an empty jti', await proofFor(key, TOKEN_URL, T0, { jti: '' }), 'The DPoP proof needs a jti: a new random identifier for every proof.']
		];
		for (const [what, proof, reason] of refusals) expect(await check(proof), what).toEqual({ ok: false, reason });
		// A refused proof is not remembered: its jti is still unused when the proof is right.
		const jti = 'refused-then-right';
		expect(await check(await proofFor(key, TOKEN_URL, T0, { jti, htm: 'GET' }))).toMatchObject({ ok: false });
		expect(await check(await proofFor(key, TOKEN_URL, T0, { jti }))).toMatchObject({ ok: true });
	});

	it("at a resource a proof names the access token's hash (ath): none, or another token's, is refused", async () => {
		const target = { method: 'GET', url: USERINFO_URL, accessToken: 'dca_token' };
		const ath = "The DPoP proof was made for another access token (its ath must be the token's base64url SHA-256).";
		expect(await check(await proofFor(key, USERINFO_URL, T0, { htm: 'GET' }), T0, target)).toEqual({ ok: false, reason: ath });
		expect(await check(await proofFor(key, USERINFO_URL, T0, { htm: 'GET', accessToken: 'dca_other' }), T0, target)).toEqual({ ok: false, reason: ath });
		expect(await check(await proofFor(key, USERINFO_URL, T0, { htm: 'GET', accessToken: 'dca_token' }), T0, target)).toEqual({ ok: true, jkt: key.jkt });
	});

	it('proofs are forgotten by the sweeper once their window has passed', async () => {
		expect(await check(await proofFor(key, TOKEN_URL, T0))).toMatchObject({ ok: true });
		expect(await check(await proofFor(key, TOKEN_URL, T0 + 30_000), T0 + 30_000)).toMatchObject({ ok: true });
		expect((await sweep(services, T0 + 59_000, { restFactor: 0, minRestMs: 0 })).dpopProofs).toBe(0);
		expect((await sweep(services, T0 + 60_000, { restFactor: 0, minRestMs: 0 })).dpopProofs).toBe(1);
		expect((await sweep(services, T0 + 90_000, { restFactor: 0, minRestMs: 0 })).dpopProofs).toBe(1);
	});
});

describe('a device login bound to a key from its first request', () => {
	it('is polled only with proofs by that key: a poll without one, or by another key, is refused and is no poll of the code', async () => {
		const created = await newCode({ client_id: 'demo-cli' }, T0, await proofFor(key, DEVICE_URL, T0));
		expect(created.status).toBe(200);
		const deviceCode = created.body.device_code as string;
		const bound = 'This device code is bound to a DPoP key: poll with a DPoP proof signed by it.';
		expect(await poll(deviceCode, T0 + 5_000, null)).toEqual(refusal('invalid_dpop_proof', bound));
		expect(await poll(deviceCode, T0 + 5_000, await proofFor(otherKey, TOKEN_URL, T0 + 5_000))).toEqual(
			refusal('invalid_dpop_proof', 'This device code is bound to another DPoP key.')
		);
		expect(await poll(deviceCode, T0 + 5_000, await proofFor(key, DEVICE_URL, T0 + 5_000))).toEqual(
			refusal('invalid_dpop_proof', `The DPoP proof was made for another URL (its htu); this endpoint is ${TOKEN_URL}.`)
		);
		// Those were no polls: the code's own poll right after them is answered, not slowed down.
		expect((await poll(deviceCode, T0 + 5_000, await proofFor(key, TOKEN_URL, T0 + 5_000))).body.error).toBe('authorization_pending');

		await approve(created.body.user_code as string, T0 + 6_000);
		// Approved: a poll without the key still gets nothing, and takes nothing from the CLI.
		expect((await poll(deviceCode, T0 + 10_000, null)).body.error).toBe('invalid_dpop_proof');
		const tokens = await poll(deviceCode, T0 + 10_000, await proofFor(key, TOKEN_URL, T0 + 10_000));
		expect(tokens).toMatchObject({ status: 200, body: { token_type: 'DPoP', scope: 'read', refresh_token: expect.any(String) } });
		for (const token of [tokens.body.access_token as string, tokens.body.refresh_token as string]) {
			expect((await introspect(token, T0 + 11_000)).body).toMatchObject({ active: true, cnf: { jkt: key.jkt } });
		}
		expect((await introspect(tokens.body.access_token as string, T0 + 11_000)).body.token_type).toBe('DPoP');
	});

	it('dpop_jkt binds the code like a proof does; a proof by another key than it names, or a malformed one, is refused', async () => {
		const created = await newCode({ client_id: 'demo-cli', dpop_jkt: key.jkt }, T0);
		expect(created.status).toBe(200);
		expect((await poll(created.body.device_code as string, T0 + 5_000, null)).body.error).toBe('invalid_dpop_proof');
		expect((await poll(created.body.device_code as string, T0 + 5_000, await proofFor(key, TOKEN_URL, T0 + 5_000))).body.error).toBe('authorization_pending');

		expect(await newCode({ client_id: 'demo-cli', dpop_jkt: key.jkt }, T0, await proofFor(otherKey, DEVICE_URL, T0))).toEqual(
			refusal('invalid_dpop_proof', 'The DPoP proof was signed by another key than the one dpop_jkt names.')
		);
		expect(await newCode({ client_id: 'demo-cli', dpop_jkt: 'not-a-thumbprint' }, T0)).toEqual(
			refusal('invalid_request', "dpop_jkt must be the base64url SHA-256 JWK thumbprint (RFC 7638) of the client's DPoP key.")
		);
		expect(await newCode({ client_id: 'demo-cli' }, T0, 'garbled')).toEqual(
			refusal('invalid_dpop_proof', 'The DPoP header must be one signed JWT (a DPoP proof).')
		);
	});

	it('a client with dpop_bound_access_tokens is refused every device authorization and token request without a proof', async () => {
		const must = 'The client dpop-cli must send a DPoP proof with every token request.';
		expect(await newCode({ client_id: 'dpop-cli' }, T0)).toEqual(refusal('invalid_dpop_proof', must));
		const tokens = await boundTokens(key, T0, 'dpop-cli');
		expect(tokens.token_type).toBe('DPoP');
		expect(await refresh(tokens.refresh_token, T0 + 10_000, null, { client_id: 'dpop-cli' })).toEqual(refusal('invalid_dpop_proof', must));
		expect((await refresh(tokens.refresh_token, T0 + 10_000, await proofFor(key, TOKEN_URL, T0 + 10_000), { client_id: 'dpop-cli' })).status).toBe(200);
	});
});

describe('tokens bound to a key', () => {
	it('userinfo takes a bound token only as "DPoP <token>" with a proof of its key and its ath; as Bearer it is refused with a DPoP challenge', async () => {
		const tokens = await boundTokens(key, T0);
		const at = T0 + 10_000;
		const me = await userinfo(`DPoP ${tokens.access_token}`, at, await userinfoProof(key, tokens.access_token, at));
		expect(me).toMatchObject({ status: 200, body: { sub: 'orcid:0000-0002-1825-0097', client_id: 'demo-cli' } });

		const challenge = (error: string) => ({ 'WWW-Authenticate': expect.stringMatching(new RegExp(`^DPoP algs="ES256 EdDSA RS256 PS256", error="${error}"`)) });
		expect(await userinfo(`Bearer ${tokens.access_token}`, at)).toEqual({
			status: 401,
			body: {
				error: 'invalid_token',
				error_description: 'This access token is bound to a DPoP key: send it as "Authorization: DPoP <token>" with a DPoP proof.'
			},
			headers: challenge('invalid_token')
		});
		expect(await userinfo(`DPoP ${tokens.access_token}`, at)).toEqual({
			status: 401,
			body: { error: 'invalid_dpop_proof', error_description: 'A DPoP access token needs a DPoP proof of its key, with its ath.' },
			headers: challenge('invalid_dpop_proof')
		});
		expect(await userinfo(`DPoP ${tokens.access_token}`, at, await userinfoProof(otherKey, tokens.access_token, at))).toEqual({
			status: 401,
			body: { error: 'invalid_token', error_description: 'The DPoP proof was signed by another key than the one this access token is bound to.' },
			headers: challenge('invalid_token')
		});
		const wrongMethod = await proofFor(key, USERINFO_URL, at, { accessToken: tokens.access_token });
		expect(await userinfo(`DPoP ${tokens.access_token}`, at, wrongMethod)).toMatchObject({ status: 401, body: { error: 'invalid_dpop_proof' } });
	});

	it("a public client's refresh token needs a proof by its key; refused, it stays usable, and the new tokens are bound to the same key", async () => {
		const tokens = await boundTokens(key, T0);
		const bound = 'This refresh token is bound to a DPoP key: send a DPoP proof signed by that key.';
		expect(await refresh(tokens.refresh_token, T0 + 10_000, null)).toEqual(refusal('invalid_dpop_proof', bound));
		expect(await refresh(tokens.refresh_token, T0 + 10_000, await proofFor(otherKey, TOKEN_URL, T0 + 10_000))).toEqual(refusal('invalid_dpop_proof', bound));
		const rotated = await refresh(tokens.refresh_token, T0 + 11_000, await proofFor(key, TOKEN_URL, T0 + 11_000));
		expect(rotated).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
		expect((await introspect(rotated.body.refresh_token as string, T0 + 12_000)).body).toMatchObject({ active: true, cnf: { jkt: key.jkt } });
	});

	it("a confidential client's refresh token is not bound (its secret binds it); each refresh binds its access token to that request's key", async () => {
		const owner = await services.store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: null, email: null }, T0);
		const secret = { client_id: RESOURCE_SERVER.id, client_secret: SECRET };
		const created = await newCode(secret, T0, await proofFor(key, DEVICE_URL, T0));
		await approveDeviceAuthorization(
			services,
			actor(owner),
			{ userCode: normalizeUserCode(created.body.user_code as string) as string, ownerId: owner.id, ownerSub: owner.sub, grantedScope: 'read', label: null },
			T0
		);
		const tokens = await answer(
			tokenEndpoint(
				services,
				params({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: created.body.device_code as string, ...secret }),
				context(T0 + 5_000, { dpop: await proofFor(key, TOKEN_URL, T0 + 5_000) })
			)
		);
		expect(tokens.body.token_type).toBe('DPoP');
		const refreshBody = await introspect(tokens.body.refresh_token as string, T0 + 6_000);
		expect(refreshBody.body).toMatchObject({ active: true, token_type: 'refresh_token' });
		expect(refreshBody.body).not.toHaveProperty('cnf');
		const rotated = await refresh(tokens.body.refresh_token as string, T0 + 7_000, await proofFor(otherKey, TOKEN_URL, T0 + 7_000), secret);
		expect(rotated.body.token_type).toBe('DPoP');
		expect((await introspect(rotated.body.access_token as string, T0 + 8_000)).body).toMatchObject({ cnf: { jkt: otherKey.jkt } });
	});

	it('a JWT access token bound to a key names its thumbprint in cnf.jkt', async () => {
		const tokens = await boundTokens(key, T0, 'jwt-cli');
		expect(decodeJwt(tokens.access_token)).toMatchObject({ client_id: 'jwt-cli', cnf: { jkt: key.jkt } });
	});

	it('without a proof tokens are Bearer, as before: userinfo takes them as Bearer and refuses them in the DPoP scheme', async () => {
		const created = await newCode({ client_id: 'demo-cli' }, T0);
		await approve(created.body.user_code as string, T0 + 1_000);
		const tokens = (await poll(created.body.device_code as string, T0 + 5_000, null)).body as { access_token: string };
		expect(tokens).toMatchObject({ token_type: 'Bearer' });
		expect((await introspect(tokens.access_token, T0 + 6_000)).body).not.toHaveProperty('cnf');
		expect((await userinfo(`Bearer ${tokens.access_token}`, T0 + 6_000)).status).toBe(200);
		expect(await userinfo(`DPoP ${tokens.access_token}`, T0 + 6_000, await userinfoProof(key, tokens.access_token, T0 + 6_000))).toMatchObject({
			status: 401,
			body: { error: 'invalid_token', error_description: 'This access token is not bound to a DPoP key: send it as "Authorization: Bearer <token>".' }
		});
	});

	it('revocation needs no proof, but refuses a bad one', async () => {
		const tokens = await boundTokens(key, T0);
		const revoke = (dpop: string | null) =>
			answer(revocationEndpoint(services, params({ token: tokens.refresh_token, client_id: 'demo-cli' }), context(T0 + 10_000, { dpop })));
		expect(await revoke(await proofFor(key, TOKEN_URL, T0 + 10_000))).toEqual(
			refusal('invalid_dpop_proof', `The DPoP proof was made for another URL (its htu); this endpoint is ${REVOKE_URL}.`)
		);
		expect((await introspect(tokens.refresh_token, T0 + 10_000)).body.active).toBe(true);
		expect((await revoke(await proofFor(key, REVOKE_URL, T0 + 10_000))).status).toBe(200);
		expect((await introspect(tokens.refresh_token, T0 + 10_000)).body).toEqual({ active: false });
	});
});
