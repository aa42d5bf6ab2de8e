import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT, DEVICE_CODE_GRANT_TYPE, type Client } from '../core/clients';
import { approveConsent, openConsent } from '../browser/consent';
import type { SessionUser } from '../browser/sessions';
import { sweep } from '../ops/sweeper';
import { makeProof, proofKey, type ProofKey } from '../../../../tests/support/dpop';
import { actor, context, TEST_ORIGIN, testServices, type TestServices } from '../../../../tests/support/test-services';
import { checkAuthorizationRequest, denyAuthorizationRequest, redirectUriRegistered, type AuthorizationRequest } from './authorization-requests';
import { authorizationServerMetadata, introspectionEndpoint, jsonWebKeySet, openidConfiguration, tokenEndpoint, userinfoEndpoint } from './endpoints';
import type { OAuthError } from './errors';
import { refreshTokens, type TokenResponse } from './tokens';

const ISSUER = TEST_ORIGIN;
const TOKEN_URL = `${TEST_ORIGIN}/oauth/token`;
const T0 = 1_800_000_000_000;
const CODE_GRANTS = [DEVICE_CODE_GRANT_TYPE, 'authorization_code', 'refresh_token'] as Client['grantTypes'];

const CODE_CLI: Client = {
	id: 'code-cli',
	name: 'Code CLI',
	type: 'public',
	scopes: ['openid', 'profile', 'read'],
	grantTypes: CODE_GRANTS,
	redirectUris: ['http://127.0.0.1/callback', 'http://[::1]/callback', 'https://app.example.org/cb?tenant=lab']
};
const CODE_API: Client = {
	id: 'code-api',
	name: 'Code API',
	type: 'confidential',
	secretSha256: createHash('sha256').update('code-secret').digest('hex'),
	scopes: ['read'],
	grantTypes: ['authorization_code'],
	redirectUris: ['http://127.0.0.1:8400/callback']
};
const DEVICE_ONLY: Client = { id: 'device-only', name: 'Device Only', type: 'public', scopes: ['read'], redirectUris: ['http://127.0.0.1/callback'] };
const LAB_CLI: Client = { ...CODE_CLI, id: 'lab-cli', name: 'Lab CLI', allow: { emailDomains: ['lab.example'] } };

let services: TestServices;
let josiah: SessionUser;
beforeEach(async () => {
	services = await testServices({ clients: [DEMO_CLIENT, CODE_CLI, CODE_API, DEVICE_ONLY, LAB_CLI] });
	const user = await services.store.upsertUser(
		{ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: 'Josiah Carberry', email: 'josiah@lab.example' },
		T0
	);
	josiah = { id: user.id, sub: user.sub, provider: 'orcid', name: user.name, email: user.email, groups: [], isAdmin: false };
});
afterEach(() => services.dispose());

function pkce() {
	const verifier = randomBytes(32).toString('base64url');
	return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeQuery(fields: Record<string, string>) {
	return new URLSearchParams({ response_type: 'code', client_id: 'code-cli', redirect_uri: 'http://127.0.0.1:51234/callback', state: 'st-1', ...fields });
}

function checked(query: URLSearchParams): AuthorizationRequest {
	const check = checkAuthorizationRequest(services, query);
	if (!check.ok) throw new Error(`refused: ${JSON.stringify(check)}`);
	return check.request;
}

/** Where the browser is sent with a refusal: the redirect_uri with error, state and iss. */
function refusal(query: URLSearchParams) {
	const check = checkAuthorizationRequest(services, query);
	if (check.ok || !('redirect' in check)) throw new Error(`not a redirect: ${JSON.stringify(check)}`);
	return new URL(check.redirect);
}

/** Josiah approves at the consent page; the code the browser takes to the redirect_uri. */
async function approvedCode(query: URLSearchParams, now = T0) {
	const approval = await approveConsent(services, checked(query), josiah, actor(josiah), now);
	if (!approval.ok) throw new Error(approval.refusal);
	const answer = new URL(approval.location);
	expect(answer.searchParams.get('state')).toBe(query.get('state'));
	expect(answer.searchParams.get('iss')).toBe(ISSUER);
	return answer.searchParams.get('code') as string;
}

function exchange(fields: Record<string, string>, now = T0 + 1_000, request: { authorization?: string; dpop?: string } = {}) {
	return tokenEndpoint(
		services,
		new Map(Object.entries({ grant_type: 'authorization_code', client_id: 'code-cli', redirect_uri: 'http://127.0.0.1:51234/callback', ...fields })),
		context(now, request)
	);
}

/** GET /oauth/userinfo with an access token in the Bearer scheme. */
const userinfoAt = (now: number, accessToken: string) => userinfoEndpoint(services, context(now, { method: 'GET', authorization: `Bearer ${accessToken}` }));

/** What introspection says of a token, asked by the confidential client. */
const introspectionOf = async (token: string) =>
	(await introspectionEndpoint(services, new Map(Object.entries({ token, client_id: 'code-api', client_secret: 'code-secret' })), context(T0 + 3_000))).body;

const errorOf = (result: { body: unknown }) => (result.body as OAuthError['body']).error;

describe('the authorization request (GET /oauth/authorize)', () => {
	it("a public client's registered loopback address matches on any port, by IP literal only; everything else exactly", () => {
		for (const uri of ['http://127.0.0.1:51234/callback', 'http://127.0.0.1/callback', 'http://[::1]:8080/callback', 'https://app.example.org/cb?tenant=lab']) {
			expect(redirectUriRegistered(CODE_CLI, uri), uri).toBe(true);
		}
		for (const uri of [
			'http://localhost:51234/callback',
			'http://localhost/callback',
			'http://127.0.0.1:51234/other',
			'http://127.0.0.1:51234/callback?x=1',
			'http://127.0.0.1:51234/callback#frag',
			'http://user@127.0.0.1:51234/callback',
			'http://[::1]:8080/callback/',
			'https://127.0.0.1:51234/callback',
			'https://app.example.org/cb',
			'https://app.example.org:8443/cb?tenant=lab',
			'http://10.0.0.1:51234/callback',
			'not a url'
		]) {
			expect(redirectUriRegistered(CODE_CLI, uri), uri).toBe(false);
		}
		// A confidential client's loopback redirect is matched exactly, port included.
		expect(redirectUriRegistered(CODE_API, 'http://127.0.0.1:8400/callback')).toBe(true);
		expect(redirectUriRegistered(CODE_API, 'http://127.0.0.1:8401/callback')).toBe(false);
	});

	it('an unknown or disabled client, or a redirect_uri it did not register, is told to the person and sent nowhere', () => {
		const { challenge } = pkce();
		const base = { code_challenge: challenge, code_challenge_method: 'S256' };
		for (const query of [
			authorizeQuery({ ...base, client_id: 'nobody' }),
			authorizeQuery({ ...base, redirect_uri: 'http://localhost:51234/callback' }),
			authorizeQuery({ ...base, redirect_uri: 'https://evil.example/callback' }),
			new URLSearchParams({ response_type: 'code', client_id: 'code-cli', ...base }),
			new URLSearchParams([...authorizeQuery(base), ['client_id', 'code-cli']])
		]) {
			const check = checkAuthorizationRequest(services, query);
			expect(check.ok).toBe(false);
			expect(check).toHaveProperty('page');
			expect(check).not.toHaveProperty('redirect');
		}
	});

	it('every other refusal goes back to the client with error, state and iss: plain PKCE, no PKCE, a client without the grant, unknown scopes, bad parameters', () => {
		const { challenge } = pkce();
		const s256 = { code_challenge: challenge, code_challenge_method: 'S256' };
		const cases: [Record<string, string>, string, RegExp][] = [
			[{ code_challenge: challenge, code_challenge_method: 'plain' }, 'invalid_request', /S256 \(plain is refused\)/],
			[{ code_challenge: challenge }, 'invalid_request', /PKCE is required/],
			[{}, 'invalid_request', /PKCE is required/],
			[{ ...s256, code_challenge: 'short' }, 'invalid_request', /code_challenge must be/],
			[{ ...s256, client_id: 'device-only' }, 'unauthorized_client', /grant_types do not include authorization_code/],
			[{ ...s256, response_type: 'token' }, 'unsupported_response_type', /response_type=code only/],
			[{ ...s256, scope: 'read admin' }, 'invalid_scope', /may not ask for: admin/],
			[{ ...s256, dpop_jkt: 'not-a-thumbprint' }, 'invalid_request', /dpop_jkt must be/],
			[{ ...s256, nonce: 'n'.repeat(256) }, 'invalid_request', /nonce must be/]
		];
		for (const [fields, error, description] of cases) {
			const answer = refusal(authorizeQuery(fields));
			expect(`${answer.origin}${answer.pathname}`).toBe('http://127.0.0.1:51234/callback');
			expect(answer.searchParams.get('error'), JSON.stringify(fields)).toBe(error);
			expect(answer.searchParams.get('error_description')).toMatch(description);
			expect(answer.searchParams.get('state')).toBe('st-1');
			expect(answer.searchParams.get('iss')).toBe(ISSUER);
			expect(answer.searchParams.has('code')).toBe(false);
		}
		// A redirect URI's own query is kept; a request without state gets none back.
		const withoutState = authorizeQuery({ code_challenge_method: 'plain', redirect_uri: 'https://app.example.org/cb?tenant=lab' });
		withoutState.delete('state');
		const answer = refusal(withoutState);
		expect(answer.searchParams.get('tenant')).toBe('lab');
		expect(answer.searchParams.has('state')).toBe(false);
	});

	it('Deny sends the browser back with access_denied, state and iss, and is audited', async () => {
		const { challenge } = pkce();
		const location = await denyAuthorizationRequest(
			services,
			checked(authorizeQuery({ code_challenge: challenge, code_challenge_method: 'S256' })),
			actor(josiah),
			T0
		);
		const answer = new URL(location);
		expect(Object.fromEntries(answer.searchParams)).toEqual({
			error: 'access_denied',
			error_description: 'The person denied the request.',
			state: 'st-1',
			iss: ISSUER
		});
		expect((await services.store.listAudit(1, 0))[0]).toMatchObject({ action: 'authorization.denied', actor: josiah.sub, clientId: 'code-cli' });
	});

	it("the consent page names the client, the scopes and where the answer goes; someone the client's allow refuses may only deny, and a forged Approve makes no code", async () => {
		const { challenge } = pkce();
		const query = authorizeQuery({ code_challenge: challenge, code_challenge_method: 'S256', scope: 'openid read' });
		expect(await openConsent(services, checked(query), josiah, actor(josiah), T0, { recordRefusal: true })).toMatchObject({
			clientName: 'Code CLI',
			scopes: ['openid', 'read'],
			answerGoesTo: 'http://127.0.0.1:51234',
			answerStaysHere: true,
			refusal: null
		});
		const outsider = {
			...josiah,
			id: (await services.store.upsertUser({ sub: 'clerk:user_2x', provider: 'clerk', name: 'Out Sider', email: 'out@elsewhere.example' }, T0)).id,
			sub: 'clerk:user_2x',
			email: 'out@elsewhere.example'
		};
		const labQuery = authorizeQuery({ code_challenge: challenge, code_challenge_method: 'S256', client_id: 'lab-cli' });
		const view = await openConsent(services, checked(labQuery), outsider, actor(outsider), T0, { recordRefusal: true });
		expect(view.refusal).toMatch(/lab\.example/);
		const forged = await approveConsent(services, checked(labQuery), outsider, actor(outsider), T0);
		expect(forged).toEqual({ ok: false, refusal: view.refusal });
		const audit = await services.store.listAudit(10, 0);
		expect(audit.filter((entry) => entry.action === 'authorization.approve_refused')).toHaveLength(2);
		expect(audit.some((entry) => entry.action === 'authorization.approved')).toBe(false);
		// Josiah, at lab.example, may approve the same request.
		expect((await approveConsent(services, checked(labQuery), josiah, actor(josiah), T0)).ok).toBe(true);
	});
});

describe('the authorization code grant (POST /oauth/token)', () => {
	it('a code and its verifier give tokens like the device grant: access, refresh, and an ID token carrying the nonce; userinfo knows the person', async () => {
		const { verifier, challenge } = pkce();
		const code = await approvedCode(
			authorizeQuery({ code_challenge: challenge, code_challenge_method: 'S256', scope: 'openid profile read', nonce: 'n-0S6_WzA2Mj' })
		);
		const answer = await exchange({ code, code_verifier: verifier });
		expect(answer.status).toBe(200);
		const tokens = answer.body as TokenResponse & { sub: string };
		expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'openid profile read', sub: 'orcid:0000-0002-1825-0097' });
		expect(tokens.refresh_token).toMatch(/^dcr_/);
		const jwks = createLocalJWKSet({ keys: ((await jsonWebKeySet(services, context(T0 + 1_000))).body as { keys: JWK[] }).keys });
		const { payload } = await jwtVerify(tokens.id_token!, jwks, { issuer: ISSUER, audience: 'code-cli', currentDate: new Date(T0 + 1_000) });
		expect(payload).toMatchObject({ sub: 'orcid:0000-0002-1825-0097', nonce: 'n-0S6_WzA2Mj', auth_time: Math.floor(T0 / 1000), name: 'Josiah Carberry' });
		const me = await userinfoAt(T0 + 2_000, tokens.access_token);
		expect(me.body).toMatchObject({ sub: 'orcid:0000-0002-1825-0097', name: 'Josiah Carberry', client_id: 'code-cli', scope: 'openid profile read' });
		// Refresh works as for a device login; its ID token repeats no nonce.
		const refreshed = await refreshTokens(services, CODE_CLI, tokens.refresh_token, null, context(T0 + 3_000));
		expect(refreshed.status).toBe(200);
		const { payload: again } = await jwtVerify((refreshed.body as TokenResponse).id_token!, jwks, { currentDate: new Date(T0 + 3_000) });
		expect(again.nonce).toBeUndefined();
		// The grant is listed on /account like a device login's.
		expect(await services.store.listActiveGrants(josiah.id, 'device', T0 + 3_000)).toMatchObject([
			{ clientId: 'code-cli', requesterIp: '192.0.2.8', pickupIp: '192.0.2.7' }
		]);
	});

	it('a wrong verifier, another redirect_uri, another client or an expired code answer invalid_grant; a wrong verifier does not use the code up', async () => {
		const { verifier, challenge } = pkce();
		const code = await approvedCode(authorizeQuery({ code_challenge: challenge, code_challenge_method: 'S256' }));
		const wrong = await exchange({ code, code_verifier: pkce().verifier });
		expect(wrong.body).toEqual({ error: 'invalid_grant', error_description: 'The code_verifier does not match the code_challenge (PKCE).' });
		expect(errorOf(await exchange({ code, code_verifier: verifier, redirect_uri: 'http://127.0.0.1:51235/callback' }))).toBe('invalid_grant');
		expect(errorOf(await exchange({ code, code_verifier: verifier, client_id: 'lab-cli' }))).toBe('invalid_grant');
		expect(errorOf(await exchange({ code, code_verifier: verifier }, T0 + 60_000))).toBe('invalid_grant');
		expect((await exchange({ code, code_verifier: verifier }, T0 + 59_000)).status).toBe(200);
		expect(errorOf(await exchange({ code: 'unknown', code_verifier: verifier }))).toBe('invalid_grant');
		expect(await exchange({ code, code_verifier: 'too-short' })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
		expect(await exchange({ code_verifier: verifier })).toMatchObject({
			status: 400,
			body: { error: 'invalid_request', error_description: 'code is required.' }
		});
	});

	it('a replayed code answers invalid_grant and revokes the grant it gave: its tokens stop working, and the audit log says why', async () => {
		const { verifier, challenge } = pkce();
		const code = await approvedCode(authorizeQuery({ code_challenge: challenge, code_challenge_method: 'S256' }));
		const first = (await exchange({ code, code_verifier: verifier })).body as TokenResponse;
		const replay = await exchange({ code, code_verifier: verifier }, T0 + 2_000);
		expect(replay).toMatchObject({
			status: 400,
			body: { error: 'invalid_grant', error_description: 'The authorization code was already used; the tokens issued from it are now revoked.' }
		});
		expect(await userinfoAt(T0 + 3_000, first.access_token)).toMatchObject({ status: 401 });
		expect(errorOf(await refreshTokens(services, CODE_CLI, first.refresh_token, null, context(T0 + 3_000)))).toBe('invalid_grant');
		expect((await services.store.listAudit(1, 0))[0]).toMatchObject({ action: 'grant.revoked_replayed_authorization_code', clientId: 'code-cli' });
	});

	it('of concurrent token requests with one code exactly one gets tokens, and the others revoke them', async () => {
		const { verifier, challenge } = pkce();
		const code = await approvedCode(authorizeQuery({ code_challenge: challenge, code_challenge_method: 'S256' }));
		const answers = await Promise.all([1, 2, 3].map(() => exchange({ code, code_verifier: verifier })));
		expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
		expect(answers.filter((answer) => errorOf(answer) === 'invalid_grant')).toHaveLength(2);
		const winner = answers.find((answer) => answer.status === 200)!.body as TokenResponse;
		expect(await userinfoAt(T0 + 2_000, winner.access_token)).toMatchObject({ status: 401 });
	});

	it('a confidential client authenticates; a client without the grant is unauthorized_client', async () => {
		const { verifier, challenge } = pkce();
		const query = authorizeQuery({
			client_id: 'code-api',
			redirect_uri: 'http://127.0.0.1:8400/callback',
			code_challenge: challenge,
			code_challenge_method: 'S256'
		});
		const code = await approvedCode(query);
		const fields = { code, code_verifier: verifier, client_id: 'code-api', redirect_uri: 'http://127.0.0.1:8400/callback' };
		expect(await exchange(fields)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
		const basic = `Basic ${Buffer.from('code-api:code-secret').toString('base64')}`;
		const answer = await exchange(fields, T0 + 1_000, { authorization: basic });
		expect(answer.status).toBe(200);
		// Its grant_types have no refresh_token: no refresh token.
		expect(answer.body).not.toHaveProperty('refresh_token');
		expect(await exchange({ code, code_verifier: verifier, client_id: 'device-only' })).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
	});

	it('a code bound by dpop_jkt needs a proof by that key (RFC 9449 §10); its tokens are then bound to it, and a bound access token sent as Bearer is refused', async () => {
		const [key, otherKey] = await Promise.all([proofKey(), proofKey()]);
		const proof = (by: ProofKey, now: number) => makeProof(by, { htm: 'POST', htu: TOKEN_URL, iat: Math.floor(now / 1000) });
		const { verifier, challenge } = pkce();
		const code = await approvedCode(authorizeQuery({ code_challenge: challenge, code_challenge_method: 'S256', dpop_jkt: key.jkt }));
		expect(await exchange({ code, code_verifier: verifier })).toMatchObject({
			status: 400,
			body: { error: 'invalid_dpop_proof', error_description: 'This authorization code is bound to a DPoP key (dpop_jkt): send a DPoP proof signed by it.' }
		});
		expect(await exchange({ code, code_verifier: verifier }, T0 + 1_000, { dpop: await proof(otherKey, T0 + 1_000) })).toMatchObject({
			status: 400,
			body: { error: 'invalid_dpop_proof', error_description: 'This authorization code is bound to another DPoP key.' }
		});
		const answer = await exchange({ code, code_verifier: verifier }, T0 + 2_000, { dpop: await proof(key, T0 + 2_000) });
		expect(answer).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
		const tokens = answer.body as TokenResponse;
		expect(await introspectionOf(tokens.access_token)).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: key.jkt } });
		expect(await userinfoAt(T0 + 3_000, tokens.access_token)).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
	});

	it('a code not bound by dpop_jkt gives tokens bound to the key of the proof its token request sends', async () => {
		const key = await proofKey();
		const { verifier, challenge } = pkce();
		const code = await approvedCode(authorizeQuery({ code_challenge: challenge, code_challenge_method: 'S256' }));
		const answer = await exchange({ code, code_verifier: verifier }, T0 + 1_000, {
			dpop: await makeProof(key, { htm: 'POST', htu: TOKEN_URL, iat: Math.floor((T0 + 1_000) / 1000) })
		});
		expect(answer).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
		expect(await introspectionOf((answer.body as TokenResponse).access_token)).toMatchObject({ cnf: { jkt: key.jkt } });
	});

	it('the sweeper deletes codes once their 60 seconds are over', async () => {
		const { challenge } = pkce();
		const code = await approvedCode(authorizeQuery({ code_challenge: challenge, code_challenge_method: 'S256' }));
		expect((await sweep(services, T0 + 59_999, { restFactor: 0, minRestMs: 0 })).authorizationCodes).toBe(0);
		expect((await sweep(services, T0 + 60_000, { restFactor: 0, minRestMs: 0 })).authorizationCodes).toBe(1);
		expect(errorOf(await exchange({ code, code_verifier: pkce().verifier }, T0 + 1_000))).toBe('invalid_grant');
	});
});

describe('metadata', () => {
	it('RFC 8414 and OpenID discovery name the authorization endpoint, code, S256 and the iss parameter', () => {
		for (const document of [authorizationServerMetadata(services).body, openidConfiguration(services).body]) {
			expect(document).toMatchObject({
				authorization_endpoint: `${ISSUER}/oauth/authorize`,
				response_types_supported: ['code'],
				code_challenge_methods_supported: ['S256'],
				authorization_response_iss_parameter_supported: true,
				grant_types_supported: [DEVICE_CODE_GRANT_TYPE, 'authorization_code', 'refresh_token']
			});
		}
	});
});
