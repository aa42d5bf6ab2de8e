import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../../tests/support/postgres.ts';
import { hashSecret } from './crypto';
import { decidePoll, type PollState } from './poll-rule';
import { openPostgresDatabase } from './postgres-store';
import { openSqliteStore } from './sqlite-store';
import type { DeviceStatus, NewTokenPair, Store } from './store';

/**
 * The store contract, run against every engine: what each method promises, whatever
 * SQL the engine runs for it. PostgreSQL is a real server (tests/support/vitest-postgres.ts).
 */
interface EngineLocation {
	open(): Promise<Store>;
	dispose(): Promise<void>;
}

const ENGINES: [string, () => Promise<EngineLocation>][] = [
	[
		'SQLite',
		async () => {
			const folder = mkdtempSync(join(tmpdir(), 'doorcode-store-'));
			return { open: async () => openSqliteStore(join(folder, 'doorcode.db')), dispose: async () => rmSync(folder, { recursive: true, force: true }) };
		}
	],
	[
		'PostgreSQL',
		async () => {
			const url = await createDatabase(inject('postgresUrl'), 'store');
			return { open: async () => (await openPostgresDatabase({ url, poolSize: 4 })).store, dispose: async () => {} };
		}
	]
];

const T0 = 1_800_000_000_000;
const TTL = 600_000;

describe.each(ENGINES)('the store contract on %s', (_engine, locate) => {
	let location: EngineLocation;
	let store: Store;
	const open = () => location.open();

	beforeEach(async () => {
		location = await locate();
		store = await open();
	});
	afterEach(async () => {
		await store.close();
		await location.dispose();
	});

	let serial = 0;
	async function newCode(userCode = `Q${String(++serial).padStart(7, '0')}`) {
		const deviceCodeHash = hashSecret(`device-${userCode}`);
		const inserted = await store.insertDeviceAuthorization({
			deviceCodeHash,
			userCode,
			clientId: 'demo-cli',
			scope: 'read write',
			createdAt: T0,
			expiresAt: T0 + TTL,
			intervalSeconds: 5,
			requesterIp: '192.0.2.1',
			requesterNetwork: '192.0.2.1',
			requesterUserAgent: 'test'
		});
		return { inserted, userCode, deviceCodeHash };
	}

	const owner = () => store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: 'Josiah Carberry', email: null }, T0);
	const tokenPair = (tag: string): NewTokenPair => ({
		accessTokenHash: hashSecret(`access-${tag}`),
		accessExpiresAt: T0 + 3_600_000,
		refreshTokenHash: hashSecret(`refresh-${tag}`),
		refreshExpiresAt: T0 + 86_400_000
	});

	async function approved(userCode: string) {
		const person = await owner();
		return store.approveDeviceAuthorization({ userCode, ownerId: person.id, approvedBy: null, grantedScope: 'read', label: null, claimant: null, now: T0 });
	}

	it('a user code already taken is a typed result, not an exception', async () => {
		expect((await newCode('BCDFGHJK')).inserted).toBe('inserted');
		expect((await newCode('BCDFGHJK')).inserted).toBe('user_code_taken');
	});

	it('every poll follows the RFC 8628 §3.5 rule of poll-rule.ts, whatever the status', async () => {
		const times = [0, 1_000, 4_000, 5_000, 9_000, 16_000, 20_000, 31_000, TTL - 1, TTL, TTL + 60_000];
		const statuses: DeviceStatus[] = ['pending', 'approved', 'denied', 'consumed'];
		for (const status of statuses) {
			const code = await newCode();
			const row = await store.findLiveDeviceAuthorization(code.userCode, T0);
			if (status !== 'pending') expect(await approved(code.userCode)).toBeDefined();
			if (status === 'denied') {
				await store.revokeUncollectedApproval(row!.id, null, T0);
			}
			if (status === 'consumed') expect(await store.redeemApprovedAuthorization(row!.id, tokenPair(code.userCode), null, T0)).toBeDefined();
			let model: PollState = { status, expiresAt: T0 + TTL, lastPolledAt: null, intervalSeconds: 5 };
			for (const offset of times) {
				const expected = decidePoll(model, T0 + offset);
				const polled = await store.pollDeviceAuthorization(code.deviceCodeHash, 'demo-cli', T0 + offset);
				expect({ status, offset, outcome: polled?.last_poll_outcome, interval: polled?.interval_seconds, clock: polled?.last_polled_at }).toEqual({
					status,
					offset,
					outcome: expected.outcome,
					interval: expected.intervalSeconds,
					clock: expected.lastPolledAt
				});
				model = { ...model, intervalSeconds: expected.intervalSeconds, lastPolledAt: expected.lastPolledAt };
			}
		}
	});

	it('a device code polled by another client is not found', async () => {
		const code = await newCode();
		expect(await store.pollDeviceAuthorization(code.deviceCodeHash, 'other-cli', T0)).toBeUndefined();
	});

	it('an approval is redeemed exactly once, with its grant, its tokens and whose they are', async () => {
		const code = await newCode();
		const row = await approved(code.userCode);
		const attempts = await Promise.all(
			[1, 2, 3, 4].map((i) => store.redeemApprovedAuthorization(row!.id, tokenPair(`${code.userCode}-${i}`), '192.0.2.5', T0 + 1_000))
		);
		const winners = attempts.filter((attempt) => attempt !== undefined);
		expect(winners).toEqual([{ grantId: expect.any(Number), scope: 'read', ownerSub: 'orcid:0000-0002-1825-0097', approverSub: null }]);
		const winner = attempts.findIndex((attempt) => attempt !== undefined) + 1;
		expect(await store.findActiveAccessToken(hashSecret(`access-${code.userCode}-${winner}`), T0 + 2_000)).toMatchObject({
			grant_id: winners[0]!.grantId,
			sub: 'orcid:0000-0002-1825-0097',
			scope: 'read',
			client_id: 'demo-cli'
		});
		expect(await store.findPickup(code.userCode, (await owner()).id)).toMatchObject({ status: 'consumed', pickup_ip: '192.0.2.5' });
	});

	it('a refresh token rotates once; presented again it revokes its grant; unknown ones are refused', async () => {
		const code = await newCode();
		const row = await approved(code.userCode);
		const redeemed = await store.redeemApprovedAuthorization(row!.id, tokenPair('first'), null, T0);
		const first = tokenPair('first').refreshTokenHash;
		expect(await store.rotateRefreshToken(first, 'demo-cli', tokenPair('second'), T0 + 1_000)).toEqual({
			outcome: 'rotated',
			grantId: redeemed!.grantId,
			scope: 'read'
		});
		expect(await store.findActiveAccessToken(tokenPair('second').accessTokenHash, T0 + 1_000)).toBeDefined();
		expect(await store.rotateRefreshToken(first, 'demo-cli', tokenPair('third'), T0 + 2_000)).toEqual({
			outcome: 'reused',
			grantId: redeemed!.grantId,
			sub: 'orcid:0000-0002-1825-0097'
		});
		expect(await store.findActiveAccessToken(tokenPair('second').accessTokenHash, T0 + 2_000)).toBeUndefined();
		expect(await store.rotateRefreshToken(hashSecret('never issued'), 'demo-cli', tokenPair('fourth'), T0)).toEqual({ outcome: 'refused' });
	});

	it('a code entry keeps its handle; the handle names the code, and nothing else does', async () => {
		const code = await newCode();
		const entered = await store.recordCodeEntry(code.userCode, hashSecret('handle'), T0 + 1_000);
		expect(entered).toMatchObject({ user_code: code.userCode, entered_at: T0 + 1_000 });
		expect(await store.findEnteredUserCode(hashSecret('handle'))).toBe(code.userCode);
		expect(await store.findEnteredUserCode(hashSecret('forged'))).toBeUndefined();
		expect(await store.recordCodeEntry('ZZZZZZZZ', hashSecret('other'), T0)).toBeUndefined();
		expect(await store.findEnteredUserCode(hashSecret('other'))).toBeUndefined();
	});

	it('a personal grant comes with its one token, which works until it expires', async () => {
		const person = await owner();
		const grant = {
			kind: 'personal' as const,
			ownerId: person.id,
			clientId: 'personal-access-token',
			scope: 'read',
			label: 'CI',
			approvedBy: null,
			createdAt: T0,
			requesterIp: null,
			pickupIp: null,
			expiresAt: T0 + 7 * 86_400_000
		};
		const grantId = await store.createPersonalGrant(grant, hashSecret('personal'));
		expect(await store.listActiveGrants(person.id, 'personal', T0)).toMatchObject([{ id: grantId, label: 'CI' }]);
		expect(await store.findActiveAccessToken(hashSecret('personal'), T0 + 1)).toMatchObject({ grant_id: grantId });
		expect(await store.findActiveAccessToken(hashSecret('personal'), grant.expiresAt)).toBeUndefined();
	});

	it('clients are replaced as a whole', async () => {
		await store.replaceClients([{ id: 'a', name: 'A', type: 'public', scopes: ['read'] }]);
		await store.replaceClients([{ id: 'b', name: 'B', type: 'public', scopes: [] }]);
		const code = await newCode();
		const row = await approved(code.userCode);
		await store.redeemApprovedAuthorization(row!.id, tokenPair('clients'), null, T0);
		// Grants name their client through the clients table: demo-cli is not in it any more.
		expect((await store.listAllActiveGrants(T0, '', 10))[0]).toMatchObject({ client_id: 'demo-cli', client_name: null });
	});

	it('instances making the next signing key at the same moment add one key, not two', async () => {
		const key = (kid: string, activatesAt: number) => ({
			kid,
			alg: 'RS256',
			public_jwk: `{"kid":"${kid}"}`,
			private_jwk: 'plain:{}',
			created_at: T0,
			activates_at: activatesAt,
			retires_at: activatesAt + 30 * 86_400_000,
			expires_at: activatesAt + 31 * 86_400_000
		});
		const others = await Promise.all([open(), open()]);
		const added = await Promise.all([store, ...others].map((each, i) => each.addSigningKey(key(`first-${i}`, T0))));
		expect(added.filter(Boolean)).toHaveLength(1);
		expect(await store.addSigningKey(key('next', T0 + 30 * 86_400_000))).toBe(true);
		expect((await store.listSigningKeys(T0)).map((row) => row.kid)).toEqual([`first-${added.indexOf(true)}`, 'next']);
		expect((await store.listSigningKeys(T0 + 31 * 86_400_000)).map((row) => row.kid)).toEqual(['next']);
		await Promise.all(others.map((other) => other.close()));
	});

	it('an approved code names whose tokens it will give, with when it was approved, until it is redeemed', async () => {
		const code = await newCode();
		const row = await approved(code.userCode);
		expect(await store.findApprovedIssuance(row!.id)).toEqual({
			sub: 'orcid:0000-0002-1825-0097',
			name: 'Josiah Carberry',
			email: null,
			scope: 'read',
			authTime: T0,
			actor: null
		});
		await store.redeemApprovedAuthorization(row!.id, tokenPair('issuance'), null, T0 + 1);
		expect(await store.findApprovedIssuance(row!.id)).toBeUndefined();
		expect(await store.findTokenState(tokenPair('issuance').refreshTokenHash)).toMatchObject({ sub: 'orcid:0000-0002-1825-0097', auth_time: T0 });
	});

	it('instances replacing the clients at the same moment all succeed', async () => {
		const clients = [{ id: 'demo-cli', name: 'Demo CLI', type: 'public' as const, scopes: ['read'] }];
		const others = await Promise.all([open(), open()]);
		await Promise.all([store.replaceClients(clients), ...others.map((other) => other.replaceClients(clients)), store.replaceClients(clients)]);
		await Promise.all(others.map((other) => other.close()));
	});

	it('sweeping deletes only what has expired, at most a batch at a time', async () => {
		for (let i = 0; i < 5; i++) await newCode();
		expect(await store.deleteExpiredDeviceAuthorizations(T0 + TTL - 1, 100)).toBe(0);
		expect(await store.deleteExpiredDeviceAuthorizations(T0 + TTL, 3)).toBe(3);
		expect(await store.deleteExpiredDeviceAuthorizations(T0 + TTL, 3)).toBe(2);
		// A blocked requester gets no new code, and learns until when; the sweeper lifts the block once it ends.
		await store.blockAddress('192.0.2.1', T0 + 1_000, 'test');
		expect((await newCode()).inserted).toEqual({ blockedUntil: T0 + 1_000 });
		expect(await store.deleteExpiredBlocks(T0 + 1_000, 10)).toBe(1);
		expect((await newCode()).inserted).toBe('inserted');
	});

	it('opening the same database again applies no migration twice', async () => {
		const again = await open();
		await again.close();
		expect((await newCode()).inserted).toBe('inserted');
	});
});
