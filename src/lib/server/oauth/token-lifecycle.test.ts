import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPersonalToken } from '../browser/account';
import { DEMO_CLIENT } from '../core/clients';
import { hashSecret } from '../core/crypto';
import { approveDeviceAuthorization, createDeviceAuthorization } from './device-authorizations';
import { pollDeviceCode } from './device-grant';
import { clientAddress } from './http';
import { declareClientsFile } from './client-registry';
import { sweep } from '../ops/sweeper';
import { actor, bearer, context, testEngine, testServices, USERINFO_URL, type TestServices } from '../../../../tests/support/test-services';
import { authenticateAccessToken, introspectToken, refreshTokens, revokeToken, type TokenResponse } from './tokens';
import { normalizeUserCode } from './user-code';

let services: TestServices;
const T0 = 1_800_000_000_000;

beforeEach(async () => {
	services = await testServices({ accessTokenTtlSeconds: 60, refreshTokenTtlSeconds: 600 });
});
afterEach(() => services.dispose());

const josiah = (now = T0) => services.store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: null, email: null }, now);

async function tokensAt(now: number, client = DEMO_CLIENT): Promise<TokenResponse> {
	const created = (await createDeviceAuthorization(services, client, undefined, null, context(now))).body as { device_code: string; user_code: string };
	const owner = await josiah(now);
	const userCode = normalizeUserCode(created.user_code) as string;
	await approveDeviceAuthorization(services, actor(owner), { userCode, ownerId: owner.id, ownerSub: owner.sub, grantedScope: 'read', label: null }, now);
	return (await pollDeviceCode(services, client, created.device_code, null, context(now))).body as TokenResponse;
}

const INVALID_REFRESH = { error: 'invalid_grant', error_description: 'The refresh token is unknown, expired or revoked. Log in again.' };

describe('token lifetimes', () => {
	it('access tokens expire after ACCESS_TOKEN_TTL and refresh tokens after REFRESH_TOKEN_TTL', async () => {
		const tokens = await tokensAt(T0);
		expect(tokens.expires_in).toBe(60);
		expect((await introspectToken(services, tokens.access_token, T0 + 59_000)).body).toMatchObject({ active: true, scope: 'read', client_id: 'demo-cli' });
		expect((await introspectToken(services, tokens.access_token, T0 + 60_000)).body).toEqual({ active: false });
		expect((await refreshTokens(services, DEMO_CLIENT, tokens.refresh_token, null, context(T0 + 600_000))).body).toEqual(INVALID_REFRESH);
	});

	it('a refresh before expiry rotates: the new pair works, the old refresh token is retired', async () => {
		const tokens = await tokensAt(T0);
		const rotated = await refreshTokens(services, DEMO_CLIENT, tokens.refresh_token, null, context(T0 + 100_000));
		expect(rotated.status).toBe(200);
		const fresh = rotated.body as TokenResponse;
		expect(fresh).toMatchObject({ token_type: 'Bearer', expires_in: 60, scope: 'read' });
		expect((await introspectToken(services, fresh.access_token, T0 + 100_000)).body).toMatchObject({ active: true });
		expect((await introspectToken(services, tokens.refresh_token, T0 + 100_000)).body).toEqual({ active: false });
	});

	it('a refresh token of another client is refused without revoking anything', async () => {
		const tokens = await tokensAt(T0);
		const other = { ...DEMO_CLIENT, id: 'other-cli' };
		expect((await refreshTokens(services, other, tokens.refresh_token, null, context(T0))).body).toEqual(INVALID_REFRESH);
		expect((await refreshTokens(services, DEMO_CLIENT, tokens.refresh_token, null, context(T0))).status).toBe(200);
	});
});

describe('sweeping under load', () => {
	// SQLite runs in the event loop, so a sweep that did not rest would starve polls: 100,000
	// rows there. PostgreSQL answers polls on other connections; 10,000 rows (100 batches)
	// check the same there, and their inserts, a WAL flush each, take seconds, not a minute.
	const backlog = testEngine === 'sqlite' ? 100_000 : 10_000;

	it(`empties ${backlog.toLocaleString('en')} expired rows while polls keep being answered`, async () => {
		await services.dispose();
		services = await testServices({ deviceCodeTtlSeconds: 100_000_000 });
		const live = (await createDeviceAuthorization(services, DEMO_CLIENT, undefined, null, context(T0 + 10_000_000))).body as { device_code: string };
		const insertExpired = (i: number) =>
			services.store.insertDeviceAuthorization(
				{
					deviceCodeHash: hashSecret(`expired-${i}`),
					userCode: `E${String(i).padStart(7, '0')}`,
					clientId: 'demo-cli',
					scope: 'read',
					createdAt: 0,
					expiresAt: T0 - 1,
					intervalSeconds: 5,
					requesterIp: null,
					requesterNetwork: null,
					requesterUserAgent: null,
					dpopJkt: null
				},
				[]
			);
		// A hundred at a time: PostgreSQL commits them on several connections at once.
		for (let i = 0; i < backlog; i += 100) {
			const inserted = await Promise.all(Array.from({ length: 100 }, (_, j) => insertExpired(i + j)));
			expect(inserted.every((result) => result === 'inserted')).toBe(true);
		}

		let sweeping = true;
		const answeredDuringSweep: string[] = [];
		let pollAt = T0 + 10_000_000;
		const poller = (async () => {
			while (sweeping) {
				pollAt += 6_000;
				const answer = await pollDeviceCode(services, DEMO_CLIENT, live.device_code, null, context(pollAt));
				answeredDuringSweep.push((answer.body as { error: string }).error);
				await new Promise((resolve) => setImmediate(resolve));
			}
		})();
		const report = await sweep(services, T0 + 10_000_000, { restFactor: 1, minRestMs: 0 });
		sweeping = false;
		await poller;

		expect(report.deviceAuthorizations).toBe(backlog);
		expect(await services.store.deleteExpiredDeviceAuthorizations(T0 + 10_000_000, 1_000)).toBe(0);
		// The sweep rests between batches of 100, so polls are answered throughout it.
		expect(answeredDuringSweep.length).toBeGreaterThanOrEqual(50);
		expect(new Set(answeredDuringSweep)).toEqual(new Set(['authorization_pending']));
	}, 60_000);
});

describe("refresh and the client's allow", () => {
	const PLATFORM_CLI = { ...DEMO_CLIENT, id: 'platform-cli', name: 'Platform CLI', allow: { providers: ['acme'], groups: ['acme/platform'] } };
	const signIn = (groups: string[], now: number) => services.store.upsertUser({ sub: 'acme:ada', provider: 'acme', name: 'Ada', email: null, groups }, now);

	async function tokensFor(owner: { id: number; sub: string }, approver = owner): Promise<TokenResponse> {
		const created = (await createDeviceAuthorization(services, PLATFORM_CLI, undefined, null, context(T0))).body as { device_code: string; user_code: string };
		const userCode = normalizeUserCode(created.user_code) as string;
		await approveDeviceAuthorization(services, actor(approver), { userCode, ownerId: owner.id, ownerSub: owner.sub, grantedScope: 'read', label: null }, T0);
		return (await pollDeviceCode(services, PLATFORM_CLI, created.device_code, null, context(T0))).body as TokenResponse;
	}

	beforeEach(async () => {
		services.config.clients = [DEMO_CLIENT, PLATFORM_CLI];
		await declareClientsFile(services, T0);
	});

	it('a person whose next sign-in no longer puts them in a listed group gets invalid_grant, audited; back in the group, the login works again', async () => {
		const tokens = await tokensFor(await signIn(['acme/platform'], T0));
		const rotated = (await refreshTokens(services, PLATFORM_CLI, tokens.refresh_token, null, context(T0 + 1_000))).body as TokenResponse;
		expect(rotated.access_token).toBeDefined();

		await signIn(['acme/research'], T0 + 2_000);
		const refused = await refreshTokens(services, PLATFORM_CLI, rotated.refresh_token, null, context(T0 + 3_000));
		expect(refused.status).toBe(400);
		expect(refused.body).toEqual({
			error: 'invalid_grant',
			error_description:
				'This account may no longer use this application. Only members of acme/platform may approve for this application. It is in none of those groups. Log in again with an account it admits.'
		});
		expect((await services.store.listAudit(1, 0))[0]).toMatchObject({
			action: 'grant.refresh_refused',
			clientId: 'platform-cli',
			subject: 'acme:ada',
			detail: expect.stringContaining('Only members of acme/platform may approve for this application.')
		});

		await signIn(['acme/platform'], T0 + 4_000);
		expect((await refreshTokens(services, PLATFORM_CLI, rotated.refresh_token, null, context(T0 + 5_000))).status).toBe(200);
	});

	it('an owner an admin named by address keeps refreshing under a provider rule: their provider cannot be known', async () => {
		const ruleByProvider = { ...PLATFORM_CLI, allow: { providers: ['acme'] } };
		services.config.clients = [ruleByProvider];
		await declareClientsFile(services, T0);
		const owner = await services.store.upsertUser({ sub: 'email:tech@lab.example', provider: 'email', name: null, email: 'tech@lab.example' }, T0);
		const tokens = await tokensFor(owner, await josiah());
		expect((await refreshTokens(services, ruleByProvider, tokens.refresh_token, null, context(T0 + 1_000))).status).toBe(200);
	});
});

describe('side doors in the token lifecycle', () => {
	const actions = async () => (await services.store.listAudit(100, 0)).map((row) => row.action);

	it('a client dropped from CLIENTS_FILE is disabled at the next start-up, and its logins end: userinfo and introspection refuse its tokens', async () => {
		const gone = { ...DEMO_CLIENT, id: 'gone-cli', name: 'Gone CLI' };
		services.config.clients = [DEMO_CLIENT, gone];
		await declareClientsFile(services, T0);
		const tokens = await tokensAt(T0, gone);
		expect((await authenticateAccessToken(services, bearer(T0, tokens.access_token), USERINFO_URL)).ok).toBe(true);

		services.config.clients = [DEMO_CLIENT];
		await declareClientsFile(services, T0 + 500);
		expect((await authenticateAccessToken(services, bearer(T0 + 1_000, tokens.access_token), USERINFO_URL)).ok).toBe(false);
		expect((await introspectToken(services, tokens.access_token, T0 + 1_000)).body).toEqual({ active: false });
		expect(await services.store.findClient('gone-cli')).toMatchObject({ managedBy: 'file', disabledAt: T0 + 500 });
	});

	it('reuse of a refresh token, a revocation by the client and a new personal token reach the audit log', async () => {
		const tokens = await tokensAt(T0);
		const fresh = (await refreshTokens(services, DEMO_CLIENT, tokens.refresh_token, null, context(T0 + 1_000))).body as TokenResponse;
		expect((await refreshTokens(services, DEMO_CLIENT, tokens.refresh_token, null, context(T0 + 2_000))).body).toEqual({
			error: 'invalid_grant',
			error_description: 'This refresh token was already used, so the login it belongs to is now revoked. Log in again.'
		});
		expect(await actions()).toContain('grant.revoked_reused_refresh_token');

		const other = await tokensAt(T0 + 3_000);
		await revokeToken(services, DEMO_CLIENT, other.access_token, context(T0 + 4_000));
		await revokeToken(services, DEMO_CLIENT, other.refresh_token, context(T0 + 4_000));
		expect(await actions()).toEqual(expect.arrayContaining(['token.revoked_by_client', 'grant.revoked_by_client']));
		expect((await services.store.listAudit(100, 0)).every((row) => !JSON.stringify(row).includes(fresh.access_token))).toBe(true);

		const owner = await josiah();
		const holder = { id: owner.id, sub: owner.sub, email: null };
		expect((await createPersonalToken(services, holder, { name: 'CI deploy', scopes: ['read'], days: 7 }, '192.0.2.4', T0)).ok).toBe(true);
		expect((await services.store.listAudit(1, 0))[0]).toMatchObject({ action: 'token.personal_created', actor: 'orcid:0000-0002-1825-0097', ip: '192.0.2.4' });
	});

	it('a personal access token needs at least one scope', async () => {
		const owner = await josiah();
		const holder = { id: owner.id, sub: owner.sub, email: null };
		expect(await createPersonalToken(services, holder, { name: 'No scope', scopes: [], days: 7 }, null, T0)).toEqual({
			ok: false,
			message: 'Choose scopes from: read, write.'
		});
	});

	it('with TRUST_PROXY only an IP address counts as the client; any other text falls back to the connection', () => {
		expect(clientAddress('10.0.0.1', '203.0.113.9', 1)).toBe('203.0.113.9');
		expect(clientAddress('10.0.0.1', '2001:db8::1', 1)).toBe('2001:db8::1');
		expect(clientAddress('10.0.0.1', '<img src=x>', 1)).toBe('10.0.0.1');
		expect(clientAddress('10.0.0.1', '203.0.113.9, not-an-address', 1)).toBe('10.0.0.1');
		expect(clientAddress('10.0.0.1', 'spoofed, 203.0.113.9', 1)).toBe('203.0.113.9');
	});
});
