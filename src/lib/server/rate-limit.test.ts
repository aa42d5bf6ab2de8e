import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../../tests/support/postgres.ts';
import { openPostgresDatabase } from './postgres-store';
import { MemoryLimiter, NO_LIMITS, parseLimit, type Limiter } from './rate-limit';
import type { Store } from './store';

const perMinute = (count: number) => ({ count, windowSeconds: 60 });

/** Both keepers of the limits follow one set of rules: in memory (SQLite) and in PostgreSQL. */
const KEEPERS: [string, () => Promise<{ limiter: Limiter; store?: Store }>][] = [
	['in memory', async () => ({ limiter: new MemoryLimiter() })],
	['in PostgreSQL', async () => openPostgresDatabase({ url: await createDatabase(inject('postgresUrl'), 'limits'), poolSize: 2 })]
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

	it('keys are counted apart, and pruning forgets only what is over', async () => {
		expect((await limiter.consume('a', perMinute(1), 0)).ok).toBe(true);
		expect((await limiter.consume('b', perMinute(1), 0)).ok).toBe(true);
		expect((await limiter.consume('a', perMinute(1), 1)).ok).toBe(false);
		await limiter.prune(30_000);
		expect((await limiter.consume('a', perMinute(1), 30_001)).ok).toBe(false);
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
