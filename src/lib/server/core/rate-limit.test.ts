import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../../../tests/support/postgres.ts';
import { openPostgresStore } from '../store/postgres/postgres-store';
import { addressKey, MAX_BLOCK_MS, MemoryLimiter, NO_LIMITS, parseLimit, type Limiter } from './rate-limit';
import type { Store } from '../store/store';

const perMinute = (count: number) => ({ count, windowSeconds: 60 });

/** Both keepers of the limits follow one set of rules: in memory (SQLite) and in PostgreSQL. */
const KEEPERS: [string, () => Promise<{ limiter: Limiter; store?: Store }>][] = [
	['in memory', async () => ({ limiter: new MemoryLimiter() })],
	['in PostgreSQL', async () => openPostgresStore({ url: await createDatabase(inject('postgresUrl'), 'limits'), poolSize: 2 })]
];

describe.each(KEEPERS)('rate limits kept %s', (_where, open) => {
	let limiter: Limiter;
	let store: Store | undefined;
	beforeAll(async () => {
		({ limiter, store } = await open());
	});
	afterAll(async () => {
		await store?.close();
	});

	it('a window allows its count, then refuses until it ends, saying how long to wait', async () => {
		for (let i = 0; i < 3; i++) expect((await limiter.consume('window', perMinute(3), 1_000)).ok).toBe(true);
		expect(await limiter.consume('window', perMinute(3), 21_000)).toEqual({ ok: false, retryAfter: 40, first: true });
		expect(await limiter.consume('window', perMinute(3), 22_000)).toMatchObject({ ok: false, first: false });
		expect((await limiter.consume('window', perMinute(3), 61_000)).ok).toBe(true);
	});

	it('failures past the limit block, and each new block lasts twice as long', async () => {
		const limit = perMinute(3);
		expect((await limiter.fail('ip', limit, 0)).ok).toBe(true);
		expect((await limiter.fail('ip', limit, 0)).ok).toBe(true);
		expect(await limiter.fail('ip', limit, 0)).toEqual({ ok: false, retryAfter: 60, first: true });
		expect(await limiter.blocked('ip', 59_000)).toMatchObject({ ok: false, retryAfter: 1 });
		expect((await limiter.blocked('ip', 60_000)).ok).toBe(true);
		await limiter.fail('ip', limit, 60_000);
		await limiter.fail('ip', limit, 60_000);
		expect(await limiter.fail('ip', limit, 60_000)).toEqual({ ok: false, retryAfter: 120, first: true });
	});

	it('a whole quiet window after a block ends forgives one earlier block', async () => {
		const limit = perMinute(2);
		await limiter.fail('quiet', limit, 0);
		expect(await limiter.fail('quiet', limit, 0)).toMatchObject({ ok: false, retryAfter: 60 });
		await limiter.fail('quiet', limit, 60_000);
		expect(await limiter.fail('quiet', limit, 60_000)).toMatchObject({ ok: false, retryAfter: 120 });
		// The block ended at 180 s; a quiet window later, the next block is back to 120 s, not 240 s.
		await limiter.fail('quiet', limit, 300_000);
		expect(await limiter.fail('quiet', limit, 300_000)).toMatchObject({ ok: false, retryAfter: 120 });
	});

	it('a hundred blocks in a row each refuse, waiting twice as long up to an hour: the limit never turns itself off', async () => {
		const limit = perMinute(5);
		let now = 0;
		for (let block = 0; block < 100; block++) {
			for (let wrong = 1; wrong < 5; wrong++) expect(await limiter.fail('persistent', limit, now)).toEqual({ ok: true });
			const wait = Math.min(MAX_BLOCK_MS, 60_000 * 2 ** block);
			expect(await limiter.fail('persistent', limit, now)).toEqual({ ok: false, retryAfter: wait / 1000, first: true });
			expect(await limiter.blocked('persistent', now + wait - 1_000)).toMatchObject({ ok: false, retryAfter: 1 });
			now += wait;
		}
	});

	it('keys are counted apart, and pruning forgets only what is over', async () => {
		expect((await limiter.consume('a', perMinute(1), 0)).ok).toBe(true);
		expect((await limiter.consume('b', perMinute(1), 0)).ok).toBe(true);
		expect((await limiter.consume('a', perMinute(1), 1)).ok).toBe(false);
		await limiter.prune(30_000);
		expect((await limiter.consume('a', perMinute(1), 30_001)).ok).toBe(false);
	});
});

describe('the in-memory keeper under a flood of addresses', () => {
	it('holds at most its cap of keys, and a block in force outlives the flood', async () => {
		const limiter = new MemoryLimiter(1_000);
		const limit = perMinute(3);
		for (let i = 0; i < 3; i++) await limiter.fail('guesser', limit, 0);
		for (let i = 0; i < 50_000; i++) await limiter.consume(`flood-${i}`, perMinute(30), i);
		expect(limiter.size).toBeLessThanOrEqual(1_000);
		expect(await limiter.blocked('guesser', 50_000)).toMatchObject({ ok: false, retryAfter: 10 });
	});

	it('forgets windows over for an hour as new keys arrive, oldest first', async () => {
		const limiter = new MemoryLimiter(1_000);
		for (let i = 0; i < 500; i++) await limiter.consume(`early-${i}`, perMinute(1), 0);
		await limiter.consume('late', perMinute(1), MAX_BLOCK_MS + 1);
		await limiter.prune(MAX_BLOCK_MS + 1);
		expect(limiter.size).toBe(1);
		expect((await limiter.consume('late', perMinute(1), MAX_BLOCK_MS + 2)).ok).toBe(false);
	});
});

describe('the address a limit counts', () => {
	it('is an IPv4 address as it is, and an IPv6 address as its /64', () => {
		expect(addressKey('192.0.2.1')).toBe('192.0.2.1');
		expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
		expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
		expect(addressKey('2001:0db8:0001:0002::9')).toBe('2001:db8:1:2::/64');
		expect(addressKey('2001:db8:1:3::9')).toBe('2001:db8:1:3::/64');
		expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
		expect(addressKey(null)).toBe('unknown');
	});
});

describe('rate limit settings', () => {
	it('RATE_LIMITS=off allows everything', async () => {
		for (let i = 0; i < 100; i++) expect((await NO_LIMITS.consume('k', perMinute(1), 0)).ok).toBe(true);
		expect((await NO_LIMITS.fail('k', perMinute(1), 0)).ok).toBe(true);
	});

	it('limits are written <count>/<seconds>', () => {
		expect(parseLimit('5/60')).toEqual({ count: 5, windowSeconds: 60 });
		for (const bad of ['5', '0/60', '5/0', 'a/b', '5/999999']) expect(parseLimit(bad)).toBeNull();
	});
});
