import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT } from './clients';
import { hashSecret } from './crypto';
import { approveDeviceAuthorization, createDeviceAuthorization } from './device-authorizations';
import { pollDeviceCode } from './device-grant';
import { sweep } from './sweeper';
import { actor, context, testServices } from './test-services';
import { createPersonalToken } from './account';
import { clientAddress } from './http';
import { createServices } from './services';
import { authenticateBearer, introspectToken, refreshTokens, revokeToken, type TokenResponse } from './tokens';
import { normalizeUserCode } from './user-code';

let services: ReturnType<typeof testServices>;
const T0 = 1_800_000_000_000;

beforeEach(() => {
	services = testServices({ accessTokenTtl: 60, refreshTokenTtl: 600 });
});
afterEach(() => services.dispose());

function tokensAt(now: number): TokenResponse {
	const created = createDeviceAuthorization(services, DEMO_CLIENT, undefined, context(now)).body as { device_code: string; user_code: string };
	const owner = services.store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: null, email: null }, now);
	approveDeviceAuthorization(
		services,
		actor(owner),
		{ userCode: normalizeUserCode(created.user_code) as string, ownerId: owner.id, ownerSub: owner.sub, grantedScope: 'read', label: null },
		now
	);
	return pollDeviceCode(services, DEMO_CLIENT, created.device_code, context(now)).body as TokenResponse;
}

describe('token lifetimes', () => {
	it('access tokens expire after ACCESS_TOKEN_TTL and refresh tokens after REFRESH_TOKEN_TTL', () => {
		const tokens = tokensAt(T0);
		expect(tokens.expires_in).toBe(60);
		expect((introspectToken(services, tokens.access_token, T0 + 59_000).body as { active: boolean }).active).toBe(true);
		expect(introspectToken(services, tokens.access_token, T0 + 60_000).body).toEqual({ active: false });
		const late = refreshTokens(services, DEMO_CLIENT, tokens.refresh_token, context(T0 + 600_000));
		expect((late.body as { error: string }).error).toBe('invalid_grant');
	});

	it('a refresh before expiry rotates: the new pair works, the old refresh token is retired', () => {
		const tokens = tokensAt(T0);
		const rotated = refreshTokens(services, DEMO_CLIENT, tokens.refresh_token, context(T0 + 100_000));
		expect(rotated.status).toBe(200);
		const fresh = rotated.body as TokenResponse;
		expect((introspectToken(services, fresh.access_token, T0 + 100_000).body as { active: boolean }).active).toBe(true);
		expect(introspectToken(services, tokens.refresh_token, T0 + 100_000).body).toEqual({ active: false });
	});

	it('a refresh token of another client is refused without revoking anything', () => {
		const tokens = tokensAt(T0);
		const other = { ...DEMO_CLIENT, id: 'other-cli' };
		expect((refreshTokens(services, other, tokens.refresh_token, context(T0)).body as { error: string }).error).toBe('invalid_grant');
		expect(refreshTokens(services, DEMO_CLIENT, tokens.refresh_token, context(T0)).status).toBe(200);
	});
});

describe('sweeping under load', () => {
	it('empties 100,000 expired rows while polls keep being answered', async () => {
		services.dispose();
		services = testServices({ deviceCodeTtl: 100_000_000 });
		const live = createDeviceAuthorization(services, DEMO_CLIENT, undefined, context(T0 + 10_000_000)).body as { device_code: string };
		const insert = services.store.db.prepare(
			`INSERT INTO device_authorizations (device_code_hash, user_code, client_id, scope, created_at, expires_at, interval_seconds)
			 VALUES (?, ?, 'demo-cli', 'read', 0, ?, 5)`
		);
		services.store.transaction(() => {
			for (let i = 0; i < 100_000; i++) insert.run(hashSecret(`expired-${i}`), `E${String(i).padStart(7, '0')}`, T0 - 1);
		});

		let sweeping = true;
		const answeredDuringSweep: string[] = [];
		let pollAt = T0 + 10_000_000;
		const poller = (async () => {
			while (sweeping) {
				pollAt += 6_000;
				const answer = pollDeviceCode(services, DEMO_CLIENT, live.device_code, context(pollAt));
				answeredDuringSweep.push((answer.body as { error: string }).error);
				await new Promise((resolve) => setImmediate(resolve));
			}
		})();
		const report = await sweep(services, T0 + 10_000_000, { restFactor: 1, minRestMs: 0 });
		sweeping = false;
		await poller;

		expect(report.deviceAuthorizations).toBe(100_000);
		expect(services.store.db.prepare('SELECT count(*) AS n FROM device_authorizations').get()).toEqual({ n: 1 });
		// The sweep rests between batches of 100, so polls are answered throughout it.
		expect(answeredDuringSweep.length).toBeGreaterThanOrEqual(50);
		expect(new Set(answeredDuringSweep)).toEqual(new Set(['authorization_pending']));
	}, 30_000);
});

describe('side doors in the token lifecycle', () => {
	const actions = () => services.store.listAudit(100, 0).map((row) => row.action);

	it('a client removed from CLIENTS_FILE ends its logins: userinfo and introspection refuse its tokens', () => {
		const gone = { ...DEMO_CLIENT, id: 'gone-cli', name: 'Gone CLI' };
		services = Object.assign(services, createServices({ ...services.config, clients: [DEMO_CLIENT, gone] }, services.store));
		const created = createDeviceAuthorization(services, gone, undefined, context(T0)).body as { device_code: string; user_code: string };
		const owner = services.store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: null, email: null }, T0);
		const userCode = normalizeUserCode(created.user_code) as string;
		approveDeviceAuthorization(services, actor(owner), { userCode, ownerId: owner.id, ownerSub: owner.sub, grantedScope: 'read', label: null }, T0);
		const tokens = pollDeviceCode(services, gone, created.device_code, context(T0)).body as TokenResponse;
		expect(authenticateBearer(services, `Bearer ${tokens.access_token}`, T0, null).ok).toBe(true);

		const restarted = createServices({ ...services.config, clients: [DEMO_CLIENT] }, services.store);
		expect(authenticateBearer(restarted, `Bearer ${tokens.access_token}`, T0 + 1_000, null).ok).toBe(false);
		expect(introspectToken(restarted, tokens.access_token, T0 + 1_000).body).toEqual({ active: false });
	});

	it('reuse of a refresh token, a revocation by the client and a new personal token reach the audit log', () => {
		const tokens = tokensAt(T0);
		const fresh = refreshTokens(services, DEMO_CLIENT, tokens.refresh_token, context(T0 + 1_000)).body as TokenResponse;
		refreshTokens(services, DEMO_CLIENT, tokens.refresh_token, context(T0 + 2_000));
		expect(actions()).toContain('grant.revoked_reused_refresh_token');

		const other = tokensAt(T0 + 3_000);
		revokeToken(services, DEMO_CLIENT, other.access_token, context(T0 + 4_000));
		revokeToken(services, DEMO_CLIENT, other.refresh_token, context(T0 + 4_000));
		expect(actions()).toEqual(expect.arrayContaining(['token.revoked_by_client', 'grant.revoked_by_client']));
		expect(services.store.listAudit(100, 0).every((row) => !JSON.stringify(row).includes(fresh.access_token))).toBe(true);

		const holder = { user_id: services.store.findUserBySub('orcid:0000-0002-1825-0097')!.id, sub: 'orcid:0000-0002-1825-0097', email: null };
		expect(createPersonalToken(services, holder, { name: 'CI deploy', scopes: ['read'], days: 7 }, '192.0.2.4', T0).ok).toBe(true);
		expect(services.store.listAudit(1, 0)[0]).toMatchObject({ action: 'token.personal_created', actor: 'orcid:0000-0002-1825-0097', ip: '192.0.2.4' });
	});

	it('a personal access token needs at least one scope', () => {
		const owner = services.store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: null, email: null }, T0);
		const holder = { user_id: owner.id, sub: owner.sub, email: null };
		expect(createPersonalToken(services, holder, { name: 'No scope', scopes: [], days: 7 }, null, T0)).toEqual({
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
