import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { emptiedDatabase } from '../../../../tests/support/postgres.ts';
import { hashSecret } from '../core/crypto';
import { decidePoll, type PollState } from './poll-rule';
import { openPostgresStore } from './postgres/postgres-store';
import { openSqliteStore } from './sqlite/sqlite-store';
import type { Client } from '../core/clients';
import { ERASED_PRIVATE_KEY, type DeviceStatus, type LimitCharge, type NewGrant, type NewTokenPair, type Store } from './store';

/**
 * The store contract, run against every engine: what each method promises, whatever
 * SQL the engine runs for it. Each vitest project runs it on its engine (vite.config.ts);
 * PostgreSQL is a real server (tests/support/vitest-postgres.ts). The last test fails
 * when a method of the contract is called by no test above it.
 */
interface EngineLocation {
	open(): Promise<Store>;
	dispose(): Promise<void>;
}

const ENGINES: Record<'sqlite' | 'postgres', [string, () => Promise<EngineLocation>]> = {
	sqlite: [
		'SQLite',
		async () => {
			const folder = mkdtempSync(join(tmpdir(), 'doorcode-store-'));
			return {
				open: async () => (await openSqliteStore(join(folder, 'doorcode.db'))).store,
				dispose: async () => rmSync(folder, { recursive: true, force: true })
			};
		}
	],
	postgres: [
		'PostgreSQL',
		async () => {
			const url = await emptyPostgresDatabase();
			return { open: async () => (await openPostgresStore({ url, poolSize: 4 })).store, dispose: async () => {} };
		}
	]
};
/** One database for the file, emptied for each test: the first test opens it new and migrates it. */
const emptyPostgresDatabase = emptiedDatabase(inject('postgresUrl'), 'store');

const [engine, locate] = ENGINES[inject('engine')];

const T0 = 1_800_000_000_000;
const TTL = 600_000;

/** The methods of the contract that some test called and whose promise was fulfilled. */
const exercised = new Set<string>();

/** The store as the tests see it: every method call that succeeds is recorded in `exercised`. */
function recording(store: Store): Store {
	return new Proxy(store, {
		get(target, key, receiver) {
			const value: unknown = Reflect.get(target, key, receiver);
			if (typeof key !== 'string' || typeof value !== 'function') return value;
			return async (...args: unknown[]) => {
				const result: unknown = await value.apply(target, args);
				exercised.add(key);
				return result;
			};
		}
	});
}

describe(`the store contract on ${engine}`, () => {
	let location: EngineLocation;
	/** Closed after each test without being recorded: close() counts only where a test calls it. */
	let unrecorded: Store;
	let store: Store;
	const open = async () => recording(await location.open());

	beforeEach(async () => {
		location = await locate();
		unrecorded = await location.open();
		store = recording(unrecorded);
	});
	afterEach(async () => {
		await unrecorded.close();
		await location.dispose();
	});

	let serial = 0;
	async function newCode(userCode = `Q${String(++serial).padStart(7, '0')}`, limits: LimitCharge[] = [], createdAt = T0, dpopJkt: string | null = null) {
		const deviceCodeHash = hashSecret(`device-${userCode}`);
		const inserted = await store.insertDeviceAuthorization(
			{
				deviceCodeHash,
				userCode,
				clientId: 'demo-cli',
				scope: 'read write',
				createdAt,
				expiresAt: createdAt + TTL,
				intervalSeconds: 5,
				requesterIp: '192.0.2.1',
				requesterNetwork: '192.0.2.1',
				requesterUserAgent: 'test',
				dpopJkt
			},
			limits
		);
		return { inserted, userCode, deviceCodeHash };
	}

	const owner = () => store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: 'Josiah Carberry', email: null }, T0);
	const tokenPair = (tag: string, dpopJkt: string | null = null): NewTokenPair & { refreshTokenHash: Buffer } => ({
		accessTokenHash: hashSecret(`access-${tag}`),
		accessExpiresAt: T0 + 3_600_000,
		accessDpopJkt: dpopJkt,
		refreshTokenHash: hashSecret(`refresh-${tag}`),
		refreshExpiresAt: T0 + 86_400_000,
		refreshDpopJkt: dpopJkt
	});

	async function approved(userCode: string) {
		const person = await owner();
		return store.approveDeviceAuthorization({ userCode, ownerId: person.id, approvedBy: null, grantedScope: 'read', label: null, claimant: null, now: T0 });
	}

	const LAURE = { sub: 'orcid:0000-0001-5109-3700', provider: 'orcid', name: 'Laure Haak', email: null };
	const other = () => store.upsertUser(LAURE, T0);

	/** A personal grant of `ownerId` whose one token is hashSecret(`personal-${tag}`). */
	async function personalGrant(ownerId: number, tag: string, expiresAt = T0 + 7 * 86_400_000, createdAt = T0) {
		const grant: NewGrant = {
			kind: 'personal',
			ownerId,
			clientId: 'personal-access-token',
			scope: 'read',
			label: tag,
			approvedBy: null,
			createdAt,
			requesterIp: null,
			pickupIp: null,
			expiresAt
		};
		return { grantId: await store.createPersonalGrant(grant, hashSecret(`personal-${tag}`)), tokenHash: hashSecret(`personal-${tag}`) };
	}

	it('a new code counts every limit it is given in the same round trip: past one it is refused and not stored, saying when to retry', async () => {
		const perAddress = { key: 'device-ip:192.0.2.1', limit: { count: 2, windowSeconds: 60 } };
		const perClient = { key: 'device-client:demo-cli', limit: { count: 4, windowSeconds: 60 } };
		expect((await newCode(undefined, [perAddress, perClient])).inserted).toBe('inserted');
		expect((await newCode(undefined, [perAddress, perClient], T0 + 10_000)).inserted).toBe('inserted');
		expect((await newCode(undefined, [perAddress, perClient], T0 + 20_000)).inserted).toEqual({ refusedBy: 0, retryAfter: 40, first: true });
		expect((await newCode(undefined, [perAddress, perClient], T0 + 21_000)).inserted).toMatchObject({ refusedBy: 0, first: false });
		expect(await store.listPendingAuthorizations(T0 + 22_000, 10)).toHaveLength(2);
		// The refused requests counted against the client too: its fifth request is one too many.
		const otherAddress = { key: 'device-ip:192.0.2.2', limit: { count: 2, windowSeconds: 60 } };
		expect((await newCode(undefined, [otherAddress, perClient], T0 + 30_000)).inserted).toEqual({ refusedBy: 1, retryAfter: 30, first: true });
		// A new window allows again.
		expect((await newCode(undefined, [perAddress, perClient], T0 + 60_000)).inserted).toBe('inserted');
	});

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
				const polled = await store.pollDeviceAuthorization(code.deviceCodeHash, 'demo-cli', null, T0 + offset);
				expect({ status, offset, outcome: polled?.lastPollOutcome, interval: polled?.intervalSeconds, clock: polled?.lastPolledAt }).toEqual({
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
		expect(await store.pollDeviceAuthorization(code.deviceCodeHash, 'other-cli', null, T0)).toBeUndefined();
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
			grantId: winners[0]!.grantId,
			sub: 'orcid:0000-0002-1825-0097',
			scope: 'read',
			clientId: 'demo-cli'
		});
		expect(await store.findPickup(code.userCode, (await owner()).id)).toMatchObject({ status: 'consumed', pickupIp: '192.0.2.5' });
	});

	const newAuthorizationCode = async (tag: string, createdAt = T0) => {
		const person = await owner();
		const codeHash = hashSecret(`code-${tag}`);
		await store.insertAuthorizationCode({
			codeHash,
			clientId: 'demo-cli',
			redirectUri: 'http://127.0.0.1:49152/callback',
			codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
			scope: 'openid read',
			nonce: `nonce-${tag}`,
			dpopJkt: null,
			ownerId: person.id,
			approverIp: '192.0.2.7',
			createdAt,
			expiresAt: createdAt + 60_000
		});
		return codeHash;
	};

	it('an authorization code is found by its hash with its owner, redeemed exactly once with its grant and tokens, and then names that grant', async () => {
		const codeHash = await newAuthorizationCode('once');
		const found = await store.findAuthorizationCode(codeHash);
		expect(found).toEqual({
			id: expect.any(Number),
			clientId: 'demo-cli',
			redirectUri: 'http://127.0.0.1:49152/callback',
			codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
			scope: 'openid read',
			nonce: 'nonce-once',
			dpopJkt: null,
			createdAt: T0,
			expiresAt: T0 + 60_000,
			consumedAt: null,
			grantId: null,
			sub: 'orcid:0000-0002-1825-0097',
			name: 'Josiah Carberry',
			email: null
		});
		expect(await store.findAuthorizationCode(hashSecret('code-unknown'))).toBeUndefined();
		const attempts = await Promise.all([1, 2, 3, 4].map((i) => store.redeemAuthorizationCode(found!.id, tokenPair(`code-${i}`), '192.0.2.8', T0 + 1_000)));
		const winners = attempts.filter((attempt) => attempt !== undefined);
		expect(winners).toEqual([{ grantId: expect.any(Number), ownerSub: 'orcid:0000-0002-1825-0097' }]);
		const winner = attempts.findIndex((attempt) => attempt !== undefined) + 1;
		expect(await store.findActiveAccessToken(hashSecret(`access-code-${winner}`), T0 + 2_000)).toMatchObject({
			grantId: winners[0]!.grantId,
			sub: 'orcid:0000-0002-1825-0097',
			scope: 'openid read',
			clientId: 'demo-cli'
		});
		expect(await store.findTokenState(hashSecret(`refresh-code-${winner}`))).toMatchObject({ grantId: winners[0]!.grantId, authTime: T0 });
		expect(await store.findAuthorizationCode(codeHash)).toMatchObject({ consumedAt: T0 + 1_000, grantId: winners[0]!.grantId });
		const [grant] = await store.listActiveGrants((await owner()).id, 'device', T0 + 2_000);
		expect(grant).toMatchObject({ id: winners[0]!.grantId, clientId: 'demo-cli', requesterIp: '192.0.2.7', pickupIp: '192.0.2.8' });
	});

	it('an authorization code past its 60 seconds is not redeemed, and the sweeper deletes it, redeemed or not', async () => {
		const expired = await newAuthorizationCode('late');
		const redeemed = await newAuthorizationCode('redeemed');
		const live = await newAuthorizationCode('live', T0 + 30_000);
		expect(await store.redeemAuthorizationCode((await store.findAuthorizationCode(expired))!.id, tokenPair('late'), null, T0 + 60_000)).toBeUndefined();
		expect(await store.redeemAuthorizationCode((await store.findAuthorizationCode(redeemed))!.id, tokenPair('redeemed'), null, T0 + 1_000)).toBeDefined();
		expect(await store.deleteExpiredAuthorizationCodes(T0 + 59_999, 10)).toBe(0);
		expect(await store.deleteExpiredAuthorizationCodes(T0 + 60_000, 1)).toBe(1);
		expect(await store.deleteExpiredAuthorizationCodes(T0 + 60_000, 10)).toBe(1);
		expect(await store.findAuthorizationCode(expired)).toBeUndefined();
		expect(await store.findAuthorizationCode(redeemed)).toBeUndefined();
		expect(await store.findAuthorizationCode(live)).toBeDefined();
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

	// DPoP (RFC 9449) thumbprints: 43 base64url characters.
	const KEY = 'k'.repeat(43);
	const OTHER_KEY = 'o'.repeat(43);

	it('a code bound to a DPoP key is polled only with that key: a poll without it or with another is no poll of the code', async () => {
		const bound = await newCode(undefined, [], T0, KEY);
		for (const key of [null, OTHER_KEY]) {
			expect(await store.pollDeviceAuthorization(bound.deviceCodeHash, 'demo-cli', key, T0)).toMatchObject({ lastPollOutcome: 'wrong_dpop_key' });
		}
		// Those moved no clock: the first poll with the key is answered, not slowed down; the next, too soon, is.
		expect(await store.pollDeviceAuthorization(bound.deviceCodeHash, 'demo-cli', KEY, T0 + 1_000)).toMatchObject({
			lastPollOutcome: 'pending',
			intervalSeconds: 5
		});
		expect(await store.pollDeviceAuthorization(bound.deviceCodeHash, 'demo-cli', KEY, T0 + 2_000)).toMatchObject({ lastPollOutcome: 'slow_down' });
		expect(await store.pollDeviceAuthorization(bound.deviceCodeHash, 'other-cli', KEY, T0 + 9_000)).toBeUndefined();
		// A code made without a key is polled with a proof or without one.
		const unbound = await newCode();
		expect(await store.pollDeviceAuthorization(unbound.deviceCodeHash, 'demo-cli', OTHER_KEY, T0)).toMatchObject({ lastPollOutcome: 'pending' });
	});

	it("tokens keep the DPoP key they are bound to, through redemption and rotation; a bearer token's is null", async () => {
		const code = await newCode(undefined, [], T0, KEY);
		const row = await approved(code.userCode);
		await store.redeemApprovedAuthorization(row!.id, { ...tokenPair('bound', KEY), refreshDpopJkt: null }, null, T0);
		expect(await store.findActiveAccessToken(tokenPair('bound').accessTokenHash, T0)).toMatchObject({ dpopJkt: KEY });
		expect(await store.findTokenState(tokenPair('bound').accessTokenHash)).toMatchObject({ kind: 'access', dpopJkt: KEY });
		expect(await store.findTokenState(tokenPair('bound').refreshTokenHash)).toMatchObject({ kind: 'refresh', dpopJkt: null });
		await store.rotateRefreshToken(tokenPair('bound').refreshTokenHash, 'demo-cli', tokenPair('rotated', OTHER_KEY), T0 + 1_000);
		expect(await store.findTokenState(tokenPair('rotated').accessTokenHash)).toMatchObject({ dpopJkt: OTHER_KEY });
		expect(await store.findTokenState(tokenPair('rotated').refreshTokenHash)).toMatchObject({ dpopJkt: OTHER_KEY });
		await store.rotateRefreshToken(tokenPair('rotated').refreshTokenHash, 'demo-cli', tokenPair('bearer'), T0 + 2_000);
		expect(await store.findActiveAccessToken(tokenPair('bearer').accessTokenHash, T0 + 2_000)).toMatchObject({ dpopJkt: null });
	});

	it('a DPoP proof is taken once until it expires, on every instance; the sweeper forgets expired ones, a batch at a time', async () => {
		const proof = hashSecret('key and jti');
		expect(await store.recordDpopProof(proof, T0 + 60_000, T0)).toBe(true);
		expect(await store.recordDpopProof(proof, T0 + 61_000, T0 + 1_000)).toBe(false);
		expect(await store.recordDpopProof(proof, T0 + 61_000, T0 + 59_999)).toBe(false);
		// Two instances given one new proof at the same moment: one takes it.
		const instances = [store, await open()];
		const racing = await Promise.all(instances.map((instance) => instance.recordDpopProof(hashSecret('raced'), T0 + 60_000, T0)));
		expect(racing.filter(Boolean)).toHaveLength(1);
		await instances[1].close();

		expect(await store.recordDpopProof(hashSecret('later'), T0 + 120_000, T0 + 60_000)).toBe(true);
		expect(await store.deleteExpiredDpopProofs(T0 + 59_999, 10)).toBe(0);
		expect(await store.deleteExpiredDpopProofs(T0 + 60_000, 1)).toBe(1);
		expect(await store.deleteExpiredDpopProofs(T0 + 60_000, 10)).toBe(1);
		expect(await store.recordDpopProof(hashSecret('later'), T0 + 120_000, T0 + 60_000)).toBe(false);
		// Past its expiry, a proof not yet swept no longer refuses anything (its iat is refused by then anyway).
		expect(await store.recordDpopProof(hashSecret('later'), T0 + 200_000, T0 + 120_000)).toBe(true);
		expect(await store.recordDpopProof(hashSecret('later'), T0 + 200_000, T0 + 121_000)).toBe(false);
	});

	it('a code entry keeps its handle; the handle names the code, and nothing else does', async () => {
		const code = await newCode();
		const entered = await store.recordCodeEntry(code.userCode, hashSecret('handle'), T0 + 1_000);
		expect(entered).toMatchObject({ userCode: code.userCode, enteredAt: T0 + 1_000 });
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
		expect(await store.findActiveAccessToken(hashSecret('personal'), T0 + 1)).toMatchObject({ grantId });
		expect(await store.findActiveAccessToken(hashSecret('personal'), grant.expiresAt)).toBeUndefined();
	});

	const FILE_CLIENT: Client = { id: 'demo-cli', name: 'Demo CLI', type: 'public', scopes: ['read', 'write'] };
	const EVERY_SETTING: Client = {
		id: 'acme-api',
		name: 'Acme API',
		type: 'confidential',
		scopes: ['openid', 'read'],
		secretSha256: 'a'.repeat(64),
		grantTypes: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token', 'authorization_code'],
		redirectUris: ['http://127.0.0.1/callback', 'https://acme.example/callback'],
		accessTokenFormat: 'jwt',
		audience: 'https://api.acme.example',
		accessTokenTtlSeconds: 300,
		refreshTokenTtlSeconds: 86_400,
		deviceCodeTtlSeconds: 120,
		pollIntervalSeconds: 2,
		addressMismatch: 'refuse'
	};
	const byOperator = (at: number) => ({ by: 'operator', at });

	it('a client made at run time keeps every setting, its secret only as a hash, and who made it when; its id is taken once', async () => {
		const before = await store.clientsVersion();
		const created = await store.createClient(EVERY_SETTING, 'admin', byOperator(T0));
		const stored = { ...EVERY_SETTING, managedBy: 'admin', disabledAt: null, createdAt: T0, updatedAt: T0, updatedBy: 'operator', registration: null };
		expect(created).toEqual(stored);
		expect(await store.findClient('acme-api')).toEqual(stored);
		expect(await store.clientsVersion()).toBeGreaterThan(before);
		const version = await store.clientsVersion();
		expect(await store.createClient({ ...FILE_CLIENT, id: 'acme-api' }, 'registration', byOperator(T0 + 1))).toBe('id_taken');
		expect(await store.findClient('acme-api')).toEqual(stored);
		expect(await store.clientsVersion()).toBe(version);
		expect(await store.findClient('nobody')).toBeUndefined();
	});

	it("every change moves the clients' version and keeps who made it when; a disabled client keeps when it was first disabled", async () => {
		await store.createClient({ ...FILE_CLIENT, id: 'cli' }, 'admin', byOperator(T0));
		let version = await store.clientsVersion();
		const moved = async () => {
			const now = await store.clientsVersion();
			const changed = now !== version;
			version = now;
			return changed;
		};
		const edited = { id: 'cli', name: 'CLI two', type: 'confidential' as const, scopes: ['read'], secretSha256: 'b'.repeat(64), pollIntervalSeconds: 9 };
		expect(await store.updateClient(edited, { by: 'orcid:0000-0001-5109-3700', at: T0 + 1 })).toMatchObject({
			...edited,
			createdAt: T0,
			updatedAt: T0 + 1,
			updatedBy: 'orcid:0000-0001-5109-3700'
		});
		expect(await moved()).toBe(true);
		expect(await store.disableClient('cli', byOperator(T0 + 2))).toMatchObject({ disabledAt: T0 + 2, updatedAt: T0 + 2 });
		expect(await moved()).toBe(true);
		expect(await store.disableClient('cli', byOperator(T0 + 3))).toMatchObject({ disabledAt: T0 + 2, updatedAt: T0 + 3 });
		expect(await store.enableClient('cli', byOperator(T0 + 4))).toMatchObject({ disabledAt: null, updatedAt: T0 + 4 });
		expect(await moved()).toBe(true);
		expect(await store.setClientSecret('cli', 'c'.repeat(64), byOperator(T0 + 5))).toMatchObject({ secretSha256: 'c'.repeat(64), updatedAt: T0 + 5 });
		expect(await moved()).toBe(true);
		// A client that is not there, or a public one's secret: nothing written, the version still.
		await store.updateClient({ ...FILE_CLIENT, id: 'public-cli' }, byOperator(T0 + 6));
		await store.createClient({ ...FILE_CLIENT, id: 'public-cli' }, 'admin', byOperator(T0 + 6));
		version = await store.clientsVersion();
		expect(await store.setClientSecret('public-cli', 'd'.repeat(64), byOperator(T0 + 7))).toBeUndefined();
		expect(await store.updateClient({ ...FILE_CLIENT, id: 'nobody' }, byOperator(T0 + 7))).toBeUndefined();
		expect(await store.disableClient('nobody', byOperator(T0 + 7))).toBeUndefined();
		expect(await store.enableClient('nobody', byOperator(T0 + 7))).toBeUndefined();
		expect(await moved()).toBe(false);
		expect((await store.findClient('public-cli'))?.secretSha256).toBeUndefined();
	});

	it('clients are listed by id, disabled ones too, and found by a part of their id or name in any case', async () => {
		await store.createClient({ ...FILE_CLIENT, id: 'zeta-cli', name: 'Zeta Tool' }, 'admin', byOperator(T0));
		await store.createClient({ ...FILE_CLIENT, id: 'alpha-cli', name: 'Alpha' }, 'registration', byOperator(T0));
		await store.disableClient('alpha-cli', byOperator(T0 + 1));
		expect((await store.listClients('')).map((client) => [client.id, client.disabledAt])).toEqual([
			['alpha-cli', T0 + 1],
			['zeta-cli', null]
		]);
		expect((await store.listClients('TOOL')).map((client) => client.id)).toEqual(['zeta-cli']);
		expect((await store.listClients('alpha-')).map((client) => client.id)).toEqual(['alpha-cli']);
		expect(await store.listClients('nothing like it')).toEqual([]);
	});

	it("a registered client keeps its registration access token's hash and auth method; an update replaces them only when it names new ones", async () => {
		const registration = { accessTokenSha256: 'e'.repeat(64), tokenEndpointAuthMethod: 'client_secret_post' as const };
		const client = { ...FILE_CLIENT, id: 'reg-cli', type: 'confidential' as const, secretSha256: 'a'.repeat(64) };
		expect(await store.createClient(client, 'registration', { by: 'registration', at: T0 }, registration)).toMatchObject({
			managedBy: 'registration',
			registration
		});
		expect(await store.updateClient({ ...client, name: 'Renamed' }, { by: 'orcid:0000-0001-5109-3700', at: T0 + 1 })).toMatchObject({
			name: 'Renamed',
			registration
		});
		const next = { accessTokenSha256: 'f'.repeat(64), tokenEndpointAuthMethod: 'client_secret_basic' as const };
		await store.updateClient(client, { by: 'registration', at: T0 + 2 }, next);
		expect((await store.findClient('reg-cli'))?.registration).toEqual(next);
		expect((await store.listClients('reg-'))[0].registration).toEqual(next);
	});

	it("a client's live grants are counted, the revoked ones not: what deleting it would revoke", async () => {
		await store.createClient(FILE_CLIENT, 'admin', byOperator(T0));
		expect(await store.countLiveGrants('demo-cli')).toBe(0);
		for (const name of ['one', 'two']) {
			const row = await approved((await newCode()).userCode);
			await store.redeemApprovedAuthorization(row!.id, tokenPair(name), null, T0);
		}
		expect(await store.countLiveGrants('demo-cli')).toBe(2);
		const grant = (await store.listAllActiveGrants(T0, '', 10))[0];
		await store.revokeGrant(grant.id, T0 + 1);
		expect(await store.countLiveGrants('demo-cli')).toBe(1);
		expect(await store.countLiveGrants('nobody')).toBe(0);
	});

	it('deleting a client revokes its live grants at once, and its tokens stop working; grants no longer name it', async () => {
		await store.createClient(FILE_CLIENT, 'admin', byOperator(T0));
		const code = await newCode();
		const row = await approved(code.userCode);
		await store.redeemApprovedAuthorization(row!.id, tokenPair('deleted'), null, T0);
		expect((await store.listAllActiveGrants(T0, '', 10))[0]).toMatchObject({ clientId: 'demo-cli', clientName: 'Demo CLI' });
		const version = await store.clientsVersion();
		expect(await store.deleteClient('demo-cli', T0 + 1_000)).toEqual({ revokedGrants: 1 });
		expect(await store.clientsVersion()).toBeGreaterThan(version);
		expect(await store.findClient('demo-cli')).toBeUndefined();
		expect(await store.findActiveAccessToken(tokenPair('deleted').accessTokenHash, T0 + 1_001)).toBeUndefined();
		expect(await store.findTokenState(tokenPair('deleted').refreshTokenHash)).toMatchObject({ revokedAt: T0 + 1_000 });
		expect(await store.deleteClient('demo-cli', T0 + 2_000)).toBeUndefined();
	});

	it('CLIENTS_FILE is declared: created, left alone when the same, updated where it differs, disabled when dropped, enabled when named again', async () => {
		const other: Client = { id: 'other-cli', name: 'Other', type: 'public', scopes: [] };
		expect(await store.declareClients([FILE_CLIENT, other], T0)).toEqual({ created: ['demo-cli', 'other-cli'], updated: [], disabled: [], skipped: [] });
		const declared = await store.listClients('');
		const version = await store.clientsVersion();
		expect(declared[0]).toEqual({ ...FILE_CLIENT, managedBy: 'file', disabledAt: null, createdAt: T0, updatedAt: T0, updatedBy: 'file', registration: null });

		// The same file again changes nothing: not even when the clients were last updated, nor the version.
		expect(await store.declareClients([FILE_CLIENT, other], T0 + 1)).toEqual({ created: [], updated: [], disabled: [], skipped: [] });
		expect(await store.listClients('')).toEqual(declared);
		expect(await store.clientsVersion()).toBe(version);

		const narrowed = { ...FILE_CLIENT, scopes: ['read'], deviceCodeTtlSeconds: 60 };
		expect(await store.declareClients([narrowed], T0 + 2)).toEqual({ created: [], updated: ['demo-cli'], disabled: ['other-cli'], skipped: [] });
		expect(await store.findClient('demo-cli')).toMatchObject({ ...narrowed, createdAt: T0, updatedAt: T0 + 2 });
		expect(await store.findClient('other-cli')).toMatchObject({ disabledAt: T0 + 2, updatedBy: 'file' });
		expect(await store.declareClients([narrowed], T0 + 3)).toEqual({ created: [], updated: [], disabled: [], skipped: [] });
		expect(await store.declareClients([narrowed, other], T0 + 4)).toEqual({ created: [], updated: ['other-cli'], disabled: [], skipped: [] });
		expect(await store.findClient('other-cli')).toMatchObject({ disabledAt: null, updatedAt: T0 + 4 });
	});

	it("the file's clients change only with the file, and the file never touches a client an admin or registration made", async () => {
		await store.declareClients([FILE_CLIENT], T0);
		await store.createClient({ ...FILE_CLIENT, id: 'admin-cli' }, 'admin', byOperator(T0));
		const version = await store.clientsVersion();
		expect(await store.updateClient({ ...FILE_CLIENT, name: 'Renamed' }, byOperator(T0 + 1))).toBeUndefined();
		expect(await store.disableClient('demo-cli', byOperator(T0 + 1))).toBeUndefined();
		expect(await store.enableClient('demo-cli', byOperator(T0 + 1))).toBeUndefined();
		expect(await store.deleteClient('demo-cli', T0 + 1)).toBeUndefined();
		expect(await store.clientsVersion()).toBe(version);
		expect(await store.findClient('demo-cli')).toMatchObject({ name: 'Demo CLI', disabledAt: null, managedBy: 'file' });

		// The file naming an admin's client: skipped; and dropping every file client leaves the admin's enabled.
		expect(await store.declareClients([FILE_CLIENT, { ...FILE_CLIENT, id: 'admin-cli', name: 'From the file' }], T0 + 2)).toEqual({
			created: [],
			updated: [],
			disabled: [],
			skipped: ['admin-cli']
		});
		expect(await store.declareClients([], T0 + 3)).toEqual({ created: [], updated: [], disabled: ['demo-cli'], skipped: [] });
		expect(await store.findClient('admin-cli')).toMatchObject({ name: 'Demo CLI', managedBy: 'admin', disabledAt: null });
	});

	it('instances making the next signing key at the same moment add one key, not two', async () => {
		const key = (kid: string, activatesAt: number) => ({
			kid,
			alg: 'RS256',
			publicJwk: `{"kid":"${kid}"}`,
			privateJwk: 'plain:{}',
			createdAt: T0,
			activatesAt,
			retiresAt: activatesAt + 30 * 86_400_000,
			expiresAt: activatesAt + 31 * 86_400_000
		});
		const others = await Promise.all([open(), open()]);
		const added = await Promise.all([store, ...others].map((each, i) => each.addSigningKey(key(`first-${i}`, T0))));
		expect(added.filter(Boolean)).toHaveLength(1);
		expect(await store.addSigningKey(key('next', T0 + 30 * 86_400_000))).toBe(true);
		expect((await store.listSigningKeys(T0)).map((row) => row.kid)).toEqual([`first-${added.indexOf(true)}`, 'next']);
		expect((await store.listSigningKeys(T0 + 31 * 86_400_000)).map((row) => row.kid)).toEqual(['next']);
		await Promise.all(others.map((other) => other.close()));
	});

	it('a key stored in clear is sealed once; retired private halves are erased; unpublished keys are deleted', async () => {
		const key = (kid: string, activatesAt: number) => ({
			kid,
			alg: 'RS256',
			publicJwk: `{"kid":"${kid}"}`,
			privateJwk: `plain:{"kid":"${kid}"}`,
			createdAt: T0,
			activatesAt,
			retiresAt: activatesAt + 30 * 86_400_000,
			expiresAt: activatesAt + 31 * 86_400_000
		});
		await store.addSigningKey(key('old', T0));
		await store.addSigningKey(key('new', T0 + 30 * 86_400_000));
		// Two instances sealing at once: the first wins, the second changes nothing.
		await store.sealSigningKey('old', 'plain:{"kid":"old"}', 'aes256gcm:first');
		await store.sealSigningKey('old', 'plain:{"kid":"old"}', 'aes256gcm:second');
		const privateOf = async () => Object.fromEntries((await store.listSigningKeys(0)).map((row) => [row.kid, row.privateJwk]));
		expect(await privateOf()).toEqual({ old: 'aes256gcm:first', new: 'plain:{"kid":"new"}' });
		expect(await store.eraseRetiredPrivateKeys(T0 + 30 * 86_400_000 - 1)).toBe(0);
		expect(await store.eraseRetiredPrivateKeys(T0 + 30 * 86_400_000)).toBe(1);
		expect(await store.eraseRetiredPrivateKeys(T0 + 30 * 86_400_000)).toBe(0);
		expect(await privateOf()).toEqual({ old: ERASED_PRIVATE_KEY, new: 'plain:{"kid":"new"}' });
		expect(await store.deleteExpiredSigningKeys(T0 + 31 * 86_400_000 - 1)).toBe(0);
		expect(await store.deleteExpiredSigningKeys(T0 + 31 * 86_400_000)).toBe(1);
		expect(Object.keys(await privateOf())).toEqual(['new']);
	});

	it('an approval its CLI collected names its live grant, to its owner or an admin; before pickup or once revoked, none', async () => {
		const code = await newCode();
		const row = await approved(code.userCode);
		const josiah = await owner();
		expect(await store.findCollectedGrant(row!.id, josiah.id)).toBeUndefined();
		const redemption = await store.redeemApprovedAuthorization(row!.id, tokenPair('collected'), null, T0 + 1_000);
		expect(await store.findCollectedGrant(row!.id, josiah.id)).toBe(redemption!.grantId);
		expect(await store.findCollectedGrant(row!.id, null)).toBe(redemption!.grantId);
		expect(await store.findCollectedGrant(row!.id, (await other()).id)).toBeUndefined();
		await store.revokeGrant(redemption!.grantId, T0 + 2_000);
		expect(await store.findCollectedGrant(row!.id, josiah.id)).toBeUndefined();
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
		expect(await store.findTokenState(tokenPair('issuance').refreshTokenHash)).toMatchObject({ sub: 'orcid:0000-0002-1825-0097', authTime: T0 });
	});

	it("a token's state names its owner's provider, verified email and groups as of their last sign-in (a client's allow is checked at refresh)", async () => {
		const code = await newCode();
		const row = await approved(code.userCode);
		const redemption = await store.redeemApprovedAuthorization(row!.id, tokenPair('owner'), null, T0 + 1);
		const ownerOf = async () => {
			const state = await store.findTokenState(tokenPair('owner').refreshTokenHash);
			return state && { sub: state.sub, provider: state.provider, email: state.email, groups: state.groups, grantId: state.grantId };
		};
		expect(await ownerOf()).toEqual({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', email: null, groups: [], grantId: redemption!.grantId });
		await store.upsertUser(
			{ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: null, email: 'josiah@lab.example', groups: ['lab/bench', 'lab'] },
			T0 + 2
		);
		expect(await ownerOf()).toMatchObject({ email: 'josiah@lab.example', groups: ['lab', 'lab/bench'] });
	});

	it('instances declaring the file at the same moment create each client once, and each change once', async () => {
		const others = await Promise.all([open(), open()]);
		const clients = [FILE_CLIENT, { ...FILE_CLIENT, id: 'second-cli' }];
		const declared = await Promise.all([store, ...others].map((each) => each.declareClients(clients, T0)));
		expect(declared.flatMap((each) => each.created).sort()).toEqual(['demo-cli', 'second-cli']);
		expect(declared.flatMap((each) => [...each.updated, ...each.disabled, ...each.skipped])).toEqual([]);
		expect((await store.listClients('')).map((client) => client.id)).toEqual(['demo-cli', 'second-cli']);
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

	it('a database opened again applies no migration twice, and keeps what a store wrote before it was closed', async () => {
		expect(await store.schemaIsCurrent()).toBe(true);
		const again = await open();
		expect(await again.schemaIsCurrent()).toBe(true);
		const person = await again.upsertUser(LAURE, T0);
		await again.close();
		expect(await store.findUserBySub(LAURE.sub)).toEqual(person);
		expect((await newCode()).inserted).toBe('inserted');
	});

	it("the database's clock reads the time now, in whole milliseconds", async () => {
		const before = Date.now();
		const time = await store.databaseTime();
		const after = Date.now();
		expect(Number.isInteger(time)).toBe(true);
		// The tests' database server keeps this machine's time (to the second, to allow for rounding and a server elsewhere).
		expect(time).toBeGreaterThanOrEqual(before - 1_000);
		expect(time).toBeLessThanOrEqual(after + 1_000);
	});

	it("signing in again keeps a person's id, and a name or email the provider no longer gives", async () => {
		const first = await owner();
		expect(first).toEqual({ id: expect.any(Number), sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: 'Josiah Carberry', email: null, groups: [] });
		const again = await store.upsertUser({ sub: first.sub, provider: 'orcid', name: null, email: 'josiah@lab.example' }, T0 + 1_000);
		expect(again).toEqual({ ...first, email: 'josiah@lab.example' });
		expect(await store.findUserBySub(first.sub)).toEqual(again);
		expect((await other()).id).not.toBe(first.id);
		expect(await store.findUserBySub('orcid:0000-0000-0000-0000')).toBeUndefined();
	});

	it("a person's groups are what their provider said at the last sign-in that said any, without repeats, and their session carries them", async () => {
		const first = await store.upsertUser({ sub: 'acme:ada', provider: 'acme', name: 'Ada', email: null, groups: ['platform', 'acme/ops', 'platform'] }, T0);
		expect(first.groups).toEqual(['acme/ops', 'platform']);
		const kept = await store.upsertUser({ sub: 'acme:ada', provider: 'acme', name: null, email: null }, T0 + 1_000);
		expect(kept.groups).toEqual(['acme/ops', 'platform']);
		const changed = await store.upsertUser({ sub: 'acme:ada', provider: 'acme', name: null, email: null, groups: [] }, T0 + 2_000);
		expect(changed.groups).toEqual([]);
		await store.upsertUser({ sub: 'acme:ada', provider: 'acme', name: null, email: null, groups: ['research'] }, T0 + 3_000);
		const tokenHash = hashSecret('ada-session');
		await store.insertSession(tokenHash, first.id, T0, T0 + 60_000);
		expect((await store.findSession(tokenHash))?.groups).toEqual(['research']);
		expect((await store.findUserBySub('acme:ada'))?.groups).toEqual(['research']);
	});

	it('a session names its person until it is deleted; extending it moves its expiry and nothing else', async () => {
		const person = await owner();
		const session = hashSecret('session');
		await store.insertSession(session, person.id, T0, T0 + 1_000);
		const named = { userId: person.id, expiresAt: T0 + 1_000, sub: person.sub, provider: 'orcid', name: 'Josiah Carberry', email: null, groups: [] };
		expect(await store.findSession(session)).toEqual(named);
		await store.extendSession(session, T0 + 5_000);
		expect(await store.findSession(session)).toEqual({ ...named, expiresAt: T0 + 5_000 });
		expect(await store.findSession(hashSecret('forged session'))).toBeUndefined();
		await store.deleteSession(session);
		expect(await store.findSession(session)).toBeUndefined();
	});

	it('sweeping deletes only expired sessions and tokens, at most a batch at a time', async () => {
		const person = await owner();
		for (let i = 0; i < 3; i++) await store.insertSession(hashSecret(`expiring session ${i}`), person.id, T0, T0 + 1_000);
		await store.insertSession(hashSecret('live session'), person.id, T0, T0 + 5_000);
		expect(await store.deleteExpiredSessions(T0 + 999, 10)).toBe(0);
		expect(await store.deleteExpiredSessions(T0 + 1_000, 2)).toBe(2);
		expect(await store.deleteExpiredSessions(T0 + 1_000, 2)).toBe(1);
		expect(await store.findSession(hashSecret('expiring session 0'))).toBeUndefined();
		expect(await store.findSession(hashSecret('live session'))).toMatchObject({ userId: person.id });

		const expiring = [];
		for (let i = 0; i < 3; i++) expiring.push(await personalGrant(person.id, `expiring ${i}`, T0 + 1_000));
		const live = await personalGrant(person.id, 'live', T0 + 5_000);
		expect(await store.deleteExpiredTokens(T0 + 999, 10)).toBe(0);
		expect(await store.deleteExpiredTokens(T0 + 1_000, 2)).toBe(2);
		expect(await store.deleteExpiredTokens(T0 + 1_000, 2)).toBe(1);
		for (const { tokenHash } of expiring) expect(await store.findTokenState(tokenHash)).toBeUndefined();
		expect(await store.findTokenState(live.tokenHash)).toMatchObject({ grantId: live.grantId, expiresAt: T0 + 5_000 });
	});

	it('another signed-in person cannot claim, approve or deny a code someone already claimed; its claimant and admins can', async () => {
		const josiah = await owner();
		const laure = await other();
		const code = await newCode();
		const claimed = await store.claimDeviceAuthorization(code.userCode, josiah.id, T0 + 1);
		expect(claimed).toMatchObject({ userCode: code.userCode, status: 'pending', ownerId: null });
		expect(await store.claimDeviceAuthorization(code.userCode, laure.id, T0 + 2)).toBeUndefined();
		// The claimant may come back to the page.
		expect(await store.claimDeviceAuthorization(code.userCode, josiah.id, T0 + 3)).toEqual(claimed);
		const decision = { userCode: code.userCode, now: T0 + 4 };
		expect(
			await store.approveDeviceAuthorization({ ...decision, ownerId: laure.id, approvedBy: null, grantedScope: 'read', label: null, claimant: laure.id })
		).toBeUndefined();
		expect(await store.denyDeviceAuthorization({ ...decision, reason: 'user', deniedBy: laure.id, claimant: laure.id })).toBeUndefined();
		expect(await store.denyDeviceAuthorization({ ...decision, reason: 'user', deniedBy: josiah.id, claimant: josiah.id })).toEqual({
			id: claimed!.id,
			userCode: code.userCode,
			clientId: 'demo-cli',
			scope: 'read write',
			status: 'denied',
			createdAt: T0,
			expiresAt: T0 + TTL,
			intervalSeconds: 5,
			requesterIp: '192.0.2.1',
			requesterUserAgent: 'test',
			enteredAt: null,
			decidedAt: T0 + 4,
			denialReason: 'user',
			ownerId: null,
			approvedBy: josiah.id,
			grantedScope: null,
			label: null,
			grantId: null
		});
		// Decided once: no second decision, and no claim any more.
		expect(
			await store.approveDeviceAuthorization({ ...decision, ownerId: josiah.id, approvedBy: null, grantedScope: 'read', label: null, claimant: null })
		).toBeUndefined();
		expect(await store.denyDeviceAuthorization({ ...decision, reason: 'user', deniedBy: null, claimant: null })).toBeUndefined();
		expect(await store.claimDeviceAuthorization(code.userCode, josiah.id, T0 + 5)).toBeUndefined();

		// An admin (no claimant) decides a code someone else claimed, on behalf of anyone.
		const second = await newCode();
		expect(await store.claimDeviceAuthorization(second.userCode, josiah.id, T0 + 1)).toBeDefined();
		expect(
			await store.approveDeviceAuthorization({
				userCode: second.userCode,
				ownerId: laure.id,
				approvedBy: josiah.id,
				grantedScope: 'read',
				label: 'build box',
				claimant: null,
				now: T0 + 2
			})
		).toMatchObject({ status: 'approved', ownerId: laure.id, approvedBy: josiah.id, grantedScope: 'read', label: 'build box', decidedAt: T0 + 2 });
		const third = await newCode();
		expect(await store.claimDeviceAuthorization(third.userCode, josiah.id, T0 + 1)).toBeDefined();
		expect(await store.denyDeviceAuthorization({ userCode: third.userCode, reason: 'admin', deniedBy: laure.id, claimant: null, now: T0 + 2 })).toMatchObject({
			status: 'denied',
			denialReason: 'admin'
		});
		// An expired code cannot be claimed.
		expect(await store.claimDeviceAuthorization((await newCode()).userCode, josiah.id, T0 + TTL)).toBeUndefined();
	});

	it('pending codes are listed newest first: live and undecided ones only, at most the limit', async () => {
		const codes = [];
		for (let i = 0; i < 4; i++) codes.push((await newCode()).userCode);
		await approved(codes[1]);
		const listed = await store.listPendingAuthorizations(T0, 10);
		expect(listed.map((row) => row.userCode)).toEqual([codes[3], codes[2], codes[0]]);
		expect(listed[0]).toEqual(await store.findLiveDeviceAuthorization(codes[3], T0));
		expect((await store.listPendingAuthorizations(T0, 2)).map((row) => row.userCode)).toEqual([codes[3], codes[2]]);
		expect(await store.listPendingAuthorizations(T0 + TTL, 10)).toEqual([]);
	});

	it("uncollected approvals are listed to their owner (every owner's to an admin), and only their owner or an admin revokes one, once", async () => {
		await store.declareClients([{ id: 'demo-cli', name: 'Demo CLI', type: 'public', scopes: ['read', 'write'] }], T0);
		const josiah = await owner();
		const laure = await other();
		const approve = async (ownerId: number, label: string | null, now: number) => {
			const code = await newCode();
			await store.approveDeviceAuthorization({ userCode: code.userCode, ownerId, approvedBy: null, grantedScope: 'read', label, claimant: null, now });
			return code;
		};
		const mine = await approve(josiah.id, 'laptop', T0 + 1_000);
		const theirs = await approve(laure.id, null, T0 + 2_000);
		const collected = await approve(josiah.id, null, T0 + 3_000);
		const collectedId = (await store.pollDeviceAuthorization(collected.deviceCodeHash, 'demo-cli', null, T0 + 3_000))!.id;
		expect(await store.redeemApprovedAuthorization(collectedId, tokenPair('collected'), null, T0 + 3_000)).toBeDefined();

		const [listed] = await store.listUncollectedApprovals(josiah.id, T0 + 4_000);
		expect(await store.listUncollectedApprovals(josiah.id, T0 + 4_000)).toEqual([
			{
				id: expect.any(Number),
				userCode: mine.userCode,
				clientId: 'demo-cli',
				clientName: 'Demo CLI',
				grantedScope: 'read',
				label: 'laptop',
				decidedAt: T0 + 1_000,
				requesterIp: '192.0.2.1',
				ownerSub: 'orcid:0000-0002-1825-0097',
				ownerName: 'Josiah Carberry'
			}
		]);
		const everyone = await store.listUncollectedApprovals(null, T0 + 4_000);
		expect(everyone.map((row) => [row.userCode, row.ownerSub])).toEqual([
			[theirs.userCode, LAURE.sub],
			[mine.userCode, 'orcid:0000-0002-1825-0097']
		]);
		expect(await store.listUncollectedApprovals(null, T0 + TTL)).toEqual([]);

		expect(await store.revokeUncollectedApproval(listed.id, laure.id, T0 + 5_000)).toBeUndefined();
		expect(await store.revokeUncollectedApproval(listed.id, josiah.id, T0 + 5_000)).toEqual({ userCode: mine.userCode, clientId: 'demo-cli' });
		expect(await store.revokeUncollectedApproval(listed.id, josiah.id, T0 + 5_000)).toBeUndefined();
		expect(await store.revokeUncollectedApproval(everyone[0].id, null, T0 + 5_000)).toEqual({ userCode: theirs.userCode, clientId: 'demo-cli' });
		expect(await store.revokeUncollectedApproval(collectedId, null, T0 + 5_000)).toBeUndefined();
		expect(await store.listUncollectedApprovals(null, T0 + 6_000)).toEqual([]);
		expect(await store.pollDeviceAuthorization(mine.deviceCodeHash, 'demo-cli', null, T0 + 6_000)).toMatchObject({
			lastPollOutcome: 'denied',
			denialReason: 'revoked'
		});
	});

	it('a retired access token stops working at once and keeps when it was first retired; a refresh token is not retired that way', async () => {
		const code = await newCode();
		const row = await approved(code.userCode);
		const tokens = tokenPair('retired');
		await store.redeemApprovedAuthorization(row!.id, tokens, null, T0);
		await store.retireAccessToken(tokens.accessTokenHash, T0 + 10);
		expect(await store.findActiveAccessToken(tokens.accessTokenHash, T0 + 10)).toBeUndefined();
		await store.retireAccessToken(tokens.accessTokenHash, T0 + 20);
		expect(await store.findTokenState(tokens.accessTokenHash)).toMatchObject({ kind: 'access', retiredAt: T0 + 10, revokedAt: null });
		await store.retireAccessToken(tokens.refreshTokenHash, T0 + 30);
		expect(await store.findTokenState(tokens.refreshTokenHash)).toMatchObject({ kind: 'refresh', retiredAt: null });
		expect(await store.rotateRefreshToken(tokens.refreshTokenHash, 'demo-cli', tokenPair('after retiring'), T0 + 40)).toMatchObject({ outcome: 'rotated' });
	});

	it('a grant in use shows when and from where it was last used', async () => {
		const person = await owner();
		const { grantId } = await personalGrant(person.id, 'CI');
		await store.touchGrant(grantId, T0 + 5_000, '198.51.100.7');
		expect(await store.listActiveGrants(person.id, 'personal', T0 + 5_000)).toEqual([
			{
				id: grantId,
				kind: 'personal',
				clientId: 'personal-access-token',
				clientName: null,
				scope: 'read',
				label: 'CI',
				createdAt: T0,
				expiresAt: T0 + 7 * 86_400_000,
				requesterIp: null,
				pickupIp: null,
				lastUsedAt: T0 + 5_000,
				lastUsedIp: '198.51.100.7',
				approvedBySub: null
			}
		]);
		await store.touchGrant(grantId, T0 + 6_000, null);
		expect(await store.listActiveGrants(person.id, 'personal', T0 + 6_000)).toMatchObject([{ lastUsedAt: T0 + 6_000, lastUsedIp: null }]);
		expect(await store.listActiveGrants(person.id, 'device', T0 + 6_000)).toEqual([]);
	});

	it("a person revokes only their own grant, and only once; an admin revokes anyone's, once; a revoked grant's token stops working", async () => {
		const josiah = await owner();
		const laure = await other();
		const his = await personalGrant(josiah.id, 'his');
		const hers = await personalGrant(laure.id, 'hers');

		expect(await store.revokeOwnGrant(his.grantId, laure.id, T0 + 1)).toBe(false);
		expect(await store.findActiveAccessToken(his.tokenHash, T0 + 1)).toMatchObject({ grantId: his.grantId });
		expect(await store.revokeOwnGrant(his.grantId, josiah.id, T0 + 2)).toBe(true);
		expect(await store.revokeOwnGrant(his.grantId, josiah.id, T0 + 3)).toBe(false);
		expect(await store.findActiveAccessToken(his.tokenHash, T0 + 3)).toBeUndefined();
		expect(await store.findTokenState(his.tokenHash)).toMatchObject({ revokedAt: T0 + 2 });
		expect(await store.listActiveGrants(josiah.id, 'personal', T0 + 3)).toEqual([]);

		expect(await store.revokeAnyGrant(hers.grantId, T0 + 4)).toEqual({ id: hers.grantId, clientId: 'personal-access-token', ownerId: laure.id });
		expect(await store.revokeAnyGrant(hers.grantId, T0 + 5)).toBeUndefined();
		expect(await store.revokeAnyGrant(his.grantId, T0 + 5)).toBeUndefined();
		expect(await store.findActiveAccessToken(hers.tokenHash, T0 + 5)).toBeUndefined();
		expect(await store.listAllActiveGrants(T0 + 5, '', 10)).toEqual([]);
	});

	it("an admin finds live grants by their owner's sub, name or email, or by their label, newest first, at most the limit", async () => {
		const josiah = await store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: 'Josiah Carberry', email: 'josiah@lab.example' }, T0);
		const laure = await other();
		const his = await personalGrant(josiah.id, 'Deploy key', T0 + 86_400_000, T0 + 1);
		const hers = await personalGrant(laure.id, 'Laptop', T0 + 86_400_000, T0 + 2);
		await personalGrant(laure.id, 'Expired', T0 + 10, T0 + 3);
		const found = async (filter: string, limit = 10) => (await store.listAllActiveGrants(T0 + 10, filter, limit)).map((grant) => grant.id);
		expect(await found('')).toEqual([hers.grantId, his.grantId]);
		expect(await found('', 1)).toEqual([hers.grantId]);
		expect(await found('carberry')).toEqual([his.grantId]);
		expect(await found('lab.example')).toEqual([his.grantId]);
		expect(await found('0000-0001-5109')).toEqual([hers.grantId]);
		expect(await found('deploy')).toEqual([his.grantId]);
		expect(await found('expired')).toEqual([]);
		// The filter is text to find, not a pattern.
		expect(await found('%')).toEqual([]);
		expect((await store.listAllActiveGrants(T0 + 10, 'laptop', 10))[0]).toEqual({
			id: hers.grantId,
			kind: 'personal',
			clientId: 'personal-access-token',
			clientName: null,
			scope: 'read',
			label: 'Laptop',
			createdAt: T0 + 2,
			expiresAt: T0 + 86_400_000,
			requesterIp: null,
			pickupIp: null,
			lastUsedAt: null,
			lastUsedIp: null,
			approvedBySub: null,
			ownerSub: LAURE.sub,
			ownerName: 'Laure Haak'
		});
	});

	it("revoking a grant ends its tokens, and revoking it again keeps the first revocation's time", async () => {
		const code = await newCode();
		const row = await approved(code.userCode);
		const tokens = tokenPair('revoked');
		const { grantId } = (await store.redeemApprovedAuthorization(row!.id, tokens, null, T0))!;
		await store.revokeGrant(grantId, T0 + 10);
		await store.revokeGrant(grantId, T0 + 20);
		expect(await store.findActiveAccessToken(tokens.accessTokenHash, T0 + 20)).toBeUndefined();
		expect(await store.findTokenState(tokens.refreshTokenHash)).toMatchObject({ grantId, revokedAt: T0 + 10 });
		expect(await store.rotateRefreshToken(tokens.refreshTokenHash, 'demo-cli', tokenPair('after revoking'), T0 + 30)).toEqual({ outcome: 'refused' });
	});

	it('the audit log lists the newest entries first, a page at a time, with every field as written', async () => {
		await store.insertAudit(
			{
				actor: 'orcid:0000-0002-1825-0097',
				action: 'device.approved',
				userCode: 'BCDFGHJK',
				clientId: 'demo-cli',
				subject: 'orcid:0000-0001-5109-3700',
				ip: '192.0.2.8',
				detail: 'scope=read'
			},
			T0
		);
		await store.insertAudit({ actor: null, action: 'device.code_refused', ip: '192.0.2.9' }, T0 + 1);
		await store.insertAudit({ actor: 'orcid:0000-0001-5109-3700', action: 'grant.revoked' }, T0 + 2);
		const firstPage = await store.listAudit(2, 0);
		expect(firstPage).toEqual([
			{
				id: expect.any(Number),
				at: T0 + 2,
				actor: 'orcid:0000-0001-5109-3700',
				action: 'grant.revoked',
				userCode: null,
				clientId: null,
				subject: null,
				ip: null,
				detail: null
			},
			{
				id: expect.any(Number),
				at: T0 + 1,
				actor: null,
				action: 'device.code_refused',
				userCode: null,
				clientId: null,
				subject: null,
				ip: '192.0.2.9',
				detail: null
			}
		]);
		expect(firstPage[0].id).toBeGreaterThan(firstPage[1].id);
		expect(await store.listAudit(2, 2)).toEqual([
			{
				id: expect.any(Number),
				at: T0,
				actor: 'orcid:0000-0002-1825-0097',
				action: 'device.approved',
				userCode: 'BCDFGHJK',
				clientId: 'demo-cli',
				subject: 'orcid:0000-0001-5109-3700',
				ip: '192.0.2.8',
				detail: 'scope=read'
			}
		]);
		expect(await store.listAudit(10, 3)).toEqual([]);
	});

	// Last: the tests above, run in order, must between them call every method of the contract.
	it('every method of the store contract is called by a test above (a new method needs its test here)', ({ task, skip }) => {
		const above = task.suite!.tasks.filter((each) => each !== task);
		skip(
			above.some((each) => each.mode !== 'run'),
			'only part of the suite ran'
		);
		skip(
			above.some((each) => each.result?.state === 'fail'),
			'a test above failed, and may not have called all it calls'
		);
		const contract = Object.keys(unrecorded);
		expect(contract.length).toBeGreaterThan(0);
		expect(contract.filter((method) => !exercised.has(method))).toEqual([]);
	});
});
