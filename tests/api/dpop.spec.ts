import { expect, test, type Browser } from '@playwright/test';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { makeProof, proofKey, type ProofKey } from '../support/dpop.ts';
import { startCluster, type Cluster } from '../support/instances.ts';
import { DEVICE_GRANT, discover, readDatabase, sleep } from '../support/oauth.ts';
import { signInAndDecide } from '../support/pages.ts';
import { SERVERS } from '../support/servers.ts';

/**
 * SPEC "Proof of possession: DPoP (RFC 9449)", as clients no one here wrote meet it
 * (openid-client's DPoP handle, oauth4webapi), and every refusal end to end: on the SQLite
 * server, and on two instances sharing one PostgreSQL, where a proof's jti works once across both.
 */

const server = SERVERS.main;
const DEVICE_PATH = '/oauth/device_authorization';
const TOKEN_PATH = '/oauth/token';
const USERINFO_PATH = '/oauth/userinfo';
const JOSIAH = 'orcid:0000-0002-1825-0097';
/** The test clients' resource server (tests/fixtures/clients.json), which may introspect. */
const ACME_API = { client_id: 'acme-api', client_secret: 'acme-secret' };

/** The person approves `userCode` in Chromium, at `origin`. */
async function approveAt(browser: Browser, origin: string, userCode: string) {
	const context = await browser.newContext({ baseURL: origin });
	const page = await context.newPage();
	await signInAndDecide(page, userCode, { user: 'Josiah Carberry' });
	await expect(page).toHaveURL(/\/device\/success/);
	await context.close();
}

test('both metadata documents name the DPoP proof algorithms', async () => {
	for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
		const metadata = await (await fetch(`${server.origin}${path}`)).json();
		expect(metadata.dpop_signing_alg_values_supported, path).toEqual(['ES256', 'EdDSA', 'RS256', 'PS256']);
	}
});

test("openid-client's DPoP handle: a device login bound from its first request (dpop_jkt), its polls, userinfo and a refresh, all with proofs", async ({
	browser
}) => {
	const config = await discover(server);
	const keyPair = await client.randomDPoPKeyPair();
	const DPoP = client.getDPoPHandle(config, keyPair);
	const thumbprint = await DPoP.calculateThumbprint();
	const authorization = await client.initiateDeviceAuthorization(config, { scope: 'read', dpop_jkt: thumbprint });
	const userCode = authorization.user_code.replace('-', '');
	expect(readDatabase(server, (db) => db.prepare('SELECT dpop_jkt FROM device_authorizations WHERE user_code = ?').get(userCode))).toEqual({
		dpop_jkt: thumbprint
	});

	const granted = client.pollDeviceAuthorizationGrant(config, authorization, undefined, { DPoP });
	await approveAt(browser, server.origin, authorization.user_code);
	const tokens = await granted;
	expect(tokens.token_type).toBe('dpop');
	expect(await client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck, { DPoP })).toMatchObject({ sub: JOSIAH, client_id: 'demo-cli' });

	// The access token alone, copied elsewhere, is refused.
	const copied = await fetch(`${server.origin}${USERINFO_PATH}`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
	expect(copied.status).toBe(401);
	expect(copied.headers.get('www-authenticate')).toMatch(/^DPoP algs="ES256 EdDSA RS256 PS256", error="invalid_token"/);

	const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP });
	expect(refreshed.token_type).toBe('dpop');
	expect(await client.fetchUserInfo(config, refreshed.access_token, client.skipSubjectCheck, { DPoP })).toMatchObject({ sub: JOSIAH });
});

test('oauth4webapi: a client that must use DPoP (dpop_bound_access_tokens) logs in, with an ID token, and reads userinfo', async ({ browser }) => {
	const insecure = { [oauth.allowInsecureRequests]: true };
	const issuer = new URL(server.origin);
	const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
	const dpopClient: oauth.Client = { client_id: 'dpop-cli' };
	const DPoP = oauth.DPoP(dpopClient, await oauth.generateKeyPair('ES256'));
	const authorization = await oauth.processDeviceAuthorizationResponse(
		as,
		dpopClient,
		await oauth.deviceAuthorizationRequest(as, dpopClient, oauth.None(), { scope: 'openid read', dpop_jkt: await DPoP.calculateThumbprint() }, insecure)
	);
	await approveAt(browser, server.origin, authorization.user_code);

	let tokens: oauth.TokenEndpointResponse | undefined;
	while (!tokens) {
		try {
			tokens = await oauth.processDeviceCodeResponse(
				as,
				dpopClient,
				await oauth.deviceCodeGrantRequest(as, dpopClient, oauth.None(), authorization.device_code, { DPoP, ...insecure })
			);
		} catch (error) {
			if (!(error instanceof oauth.ResponseBodyError) || !['authorization_pending', 'slow_down'].includes(error.error)) throw error;
			await sleep((authorization.interval ?? 5) * 1000 + 100);
		}
	}
	expect(tokens.token_type).toBe('dpop');
	const sub = oauth.getValidatedIdTokenClaims(tokens)!.sub;
	expect(sub).toBe(JOSIAH);
	const me = await oauth.processUserInfoResponse(as, dpopClient, sub, await oauth.userInfoRequest(as, dpopClient, tokens.access_token, { DPoP, ...insecure }));
	expect(me).toMatchObject({ sub: JOSIAH, client_id: 'dpop-cli', scope: 'openid read' });

	// Without a proof, this client gets no code and no tokens at all.
	const refused = await post(server.origin, DEVICE_PATH, { client_id: 'dpop-cli' });
	expect(refused).toEqual({
		status: 400,
		body: { error: 'invalid_dpop_proof', error_description: 'The client dpop-cli must send a DPoP proof with every token request.' }
	});
	expect((await post(server.origin, TOKEN_PATH, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: 'dpop-cli' })).body.error).toBe(
		'invalid_dpop_proof'
	);
});

async function post(base: string, path: string, fields: Record<string, string>, dpop?: string) {
	const response = await fetch(`${base}${path}`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(dpop ? { DPoP: dpop } : {}) },
		body: new URLSearchParams(fields)
	});
	return { status: response.status, body: await response.json() };
}

/** A proof by `key` for a POST to `path` under ORIGIN (`origin`). */
const proof = (key: ProofKey, origin: string, path: string, claims: { htm?: string; jti?: string; accessToken?: string } = {}) =>
	makeProof(key, { htm: 'POST', htu: `${origin}${path}`, ...claims });

/**
 * Every refusal SPEC names, against one server's ORIGIN (`target().origin`; requests go to
 * `target().at()`, one instance after the other on a cluster).
 */
function refusals(target: () => { origin: string; at: (i: number) => string }) {
	const newBoundCode = async (key: ProofKey) => {
		const { origin, at } = target();
		const created = await post(at(0), DEVICE_PATH, { client_id: 'demo-cli', scope: 'read' }, await proof(key, origin, DEVICE_PATH));
		expect(created.status).toBe(200);
		return created.body as { device_code: string; user_code: string };
	};
	const pollWith = async (deviceCode: string, dpop: string | undefined, instance = 1) =>
		post(target().at(instance), TOKEN_PATH, { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: 'demo-cli' }, dpop);

	test('a poll without a proof, or by another key, is refused (invalid_dpop_proof) and is no poll of the code', async () => {
		const { origin } = target();
		const [key, other] = await Promise.all([proofKey(), proofKey()]);
		const code = await newBoundCode(key);
		expect(await pollWith(code.device_code, undefined)).toEqual({
			status: 400,
			body: { error: 'invalid_dpop_proof', error_description: 'This device code is bound to a DPoP key: poll with a DPoP proof signed by it.' }
		});
		expect(await pollWith(code.device_code, await proof(other, origin, TOKEN_PATH))).toEqual({
			status: 400,
			body: { error: 'invalid_dpop_proof', error_description: 'This device code is bound to another DPoP key.' }
		});
		// Neither counted: the CLI's own poll right after is answered, not slowed down; its next one, too soon, is.
		expect((await pollWith(code.device_code, await proof(key, origin, TOKEN_PATH), 0)).body).toEqual({
			error: 'authorization_pending',
			error_description: 'Waiting for the code to be entered in a browser.'
		});
		expect((await pollWith(code.device_code, await proof(key, origin, TOKEN_PATH))).body.error).toBe('slow_down');
	});

	test('a reused jti, a proof for another URL or for another method are refused', async () => {
		const { origin, at } = target();
		const key = await proofKey();
		const once = await proof(key, origin, DEVICE_PATH);
		expect((await post(at(0), DEVICE_PATH, { client_id: 'demo-cli' }, once)).status).toBe(200);
		expect(await post(at(1), DEVICE_PATH, { client_id: 'demo-cli' }, once)).toEqual({
			status: 400,
			body: { error: 'invalid_dpop_proof', error_description: 'This DPoP proof was used before: make a new proof, with a new jti, for every request.' }
		});
		expect(await post(at(0), DEVICE_PATH, { client_id: 'demo-cli' }, await proof(key, origin, TOKEN_PATH))).toEqual({
			status: 400,
			body: {
				error: 'invalid_dpop_proof',
				error_description: `The DPoP proof was made for another URL (its htu); this endpoint is ${origin}${DEVICE_PATH}.`
			}
		});
		expect(await post(at(1), DEVICE_PATH, { client_id: 'demo-cli' }, await proof(key, origin, DEVICE_PATH, { htm: 'GET' }))).toEqual({
			status: 400,
			body: { error: 'invalid_dpop_proof', error_description: 'The DPoP proof was made for another method (its htm); this request is POST.' }
		});
	});

	test('a bound access token sent as Bearer is refused with a DPoP challenge; its refresh token is no use without the key', async ({ browser }) => {
		const { origin, at } = target();
		const [key, other] = await Promise.all([proofKey(), proofKey()]);
		const code = await newBoundCode(key);
		await approveAt(browser, origin, code.user_code);
		const tokens = await pollWith(code.device_code, await proof(key, origin, TOKEN_PATH));
		expect(tokens).toMatchObject({ status: 200, body: { token_type: 'DPoP', scope: 'read' } });
		const { access_token: accessToken, refresh_token: refreshToken } = tokens.body as { access_token: string; refresh_token: string };

		const asBearer = await fetch(`${at(0)}${USERINFO_PATH}`, { headers: { Authorization: `Bearer ${accessToken}` } });
		expect(asBearer.status).toBe(401);
		expect(asBearer.headers.get('www-authenticate')).toBe(
			'DPoP algs="ES256 EdDSA RS256 PS256", error="invalid_token", error_description="This access token is bound to a DPoP key: send it as Authorization: DPoP <token> with a DPoP proof."'
		);
		expect(await asBearer.json()).toMatchObject({ error: 'invalid_token' });
		const withProof = await fetch(`${at(1)}${USERINFO_PATH}`, {
			headers: { Authorization: `DPoP ${accessToken}`, DPoP: await proof(key, origin, USERINFO_PATH, { htm: 'GET', accessToken }) }
		});
		expect(withProof.status).toBe(200);
		expect(await withProof.json()).toMatchObject({ sub: JOSIAH });

		const refresh = (dpop?: string) => post(at(0), TOKEN_PATH, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'demo-cli' }, dpop);
		expect((await refresh()).body.error).toBe('invalid_dpop_proof');
		expect((await refresh(await proof(other, origin, TOKEN_PATH))).body.error).toBe('invalid_dpop_proof');
		const rotated = await refresh(await proof(key, origin, TOKEN_PATH));
		expect(rotated).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
		const introspected = await post(at(1), '/oauth/introspect', { token: (rotated.body as { access_token: string }).access_token, ...ACME_API });
		expect(introspected.body).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: key.jkt } });
	});
}

test.describe('refusals on the SQLite server', () => {
	refusals(() => ({ origin: server.origin, at: () => server.origin }));
});

test.describe('on two instances sharing one PostgreSQL', () => {
	test.describe.configure({ mode: 'serial', timeout: 120_000 });
	let cluster: Cluster;
	test.beforeAll(async () => {
		cluster = await startCluster('dpop', 2, { RATE_LIMIT_TOKEN: '100000/60' });
	});
	test.afterAll(async () => {
		await cluster?.stop();
	});

	refusals(() => ({ origin: cluster.origin, at: (i) => cluster.at(i % 2) }));

	test('one proof sent to both instances at once is taken by one of them only', async () => {
		const key = await proofKey();
		for (let round = 0; round < 5; round++) {
			const once = await proof(key, cluster.origin, DEVICE_PATH);
			const answers = await Promise.all([0, 1].map((i) => post(cluster.at(i), DEVICE_PATH, { client_id: 'demo-cli' }, once)));
			expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400]);
		}
	});
});
