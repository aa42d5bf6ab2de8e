import { describe, expect, it } from 'vitest';
import { parseLimit, RateLimiter } from './rate-limit';

const perMinute = (count: number) => ({ count, windowSeconds: 60 });

describe('rate limits', () => {
	it('a window allows its count, then refuses until it ends, saying how long to wait', () => {
		const limiter = new RateLimiter(true);
		for (let i = 0; i < 3; i++) expect(limiter.consume('k', perMinute(3), 1_000).ok).toBe(true);
		expect(limiter.consume('k', perMinute(3), 21_000)).toEqual({ ok: false, retryAfter: 40, first: true });
		expect(limiter.consume('k', perMinute(3), 22_000)).toMatchObject({ ok: false, first: false });
		expect(limiter.consume('k', perMinute(3), 61_000).ok).toBe(true);
	});

	it('failures past the limit block, and each new block lasts twice as long', () => {
		const limiter = new RateLimiter(true);
		const limit = perMinute(3);
		let now = 0;
		expect(limiter.fail('ip', limit, now).ok).toBe(true);
		expect(limiter.fail('ip', limit, now).ok).toBe(true);
		expect(limiter.fail('ip', limit, now)).toMatchObject({ ok: false, retryAfter: 60 });
		expect(limiter.blocked('ip', now + 59_000).ok).toBe(false);
		now = 60_000;
		expect(limiter.blocked('ip', now).ok).toBe(true);
		limiter.fail('ip', limit, now);
		limiter.fail('ip', limit, now);
		expect(limiter.fail('ip', limit, now)).toMatchObject({ ok: false, retryAfter: 120 });
	});

	it('RATE_LIMITS=off allows everything', () => {
		const limiter = new RateLimiter(false);
		for (let i = 0; i < 100; i++) expect(limiter.consume('k', perMinute(1), 0).ok).toBe(true);
		expect(limiter.fail('k', perMinute(1), 0).ok).toBe(true);
	});

	it('limits are written <count>/<seconds>', () => {
		expect(parseLimit('5/60')).toEqual({ count: 5, windowSeconds: 60 });
		for (const bad of ['5', '0/60', '5/0', 'a/b', '5/999999']) expect(parseLimit(bad)).toBeNull();
	});
});
