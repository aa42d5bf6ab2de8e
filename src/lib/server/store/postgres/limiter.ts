import type pg from 'pg';
import { MAX_BLOCK_MS, MAX_STRIKES, refuse, type Limit, type Limiter, type Verdict } from '../../core/rate-limit';
import { msFromSeconds } from '../../core/time';
import { run } from './connection';

/**
 * One request counted in its key's window, as a statement of its own or inside a new code's
 * insert (device-authorizations.ts): the placeholders name the key, now, the window's length
 * and how long a row outlives its window (MAX_BLOCK_MS), in milliseconds. It answers the
 * window's count and start.
 */
export function countingUpsert(key: string, now: string, windowMs: string, forgetMs: string): string {
	return `INSERT INTO rate_limits AS r (key, window_start, count, forget_at) VALUES (${key}, ${now}::bigint, 1, ${now}::bigint + ${forgetMs}::bigint)
		ON CONFLICT (key) DO UPDATE SET
			window_start = CASE WHEN ${now}::bigint - r.window_start >= ${windowMs}::bigint THEN ${now}::bigint ELSE r.window_start END,
			count = CASE WHEN ${now}::bigint - r.window_start >= ${windowMs}::bigint THEN 1 ELSE r.count + 1 END,
			forget_at = greatest(r.forget_at, ${now}::bigint + ${forgetMs}::bigint)
		RETURNING count, window_start`;
}

/** The verdict on a window after a count: allowed up to `limit.count`, then refused until the window ends. */
export function countVerdict(count: number, windowStart: number, limit: Limit, now: number): Verdict {
	if (count <= limit.count) return { ok: true };
	return refuse(windowStart + msFromSeconds(limit.windowSeconds), now, count === limit.count + 1);
}

/**
 * The rules of rate-limit.ts (MemoryLimiter) kept in the database, so every instance
 * counts against the same windows; each check is one statement.
 */
export function postgresLimiter(pool: pg.Pool): Limiter {
	return {
		async consume(key: string, limit: Limit, now: number): Promise<Verdict> {
			const { count, window_start } = (
				await run<{ count: number; window_start: number }>(pool, {
					name: 'rateLimitConsume',
					text: countingUpsert('$1', '$2', '$3', '$4'),
					values: [key, now, msFromSeconds(limit.windowSeconds), MAX_BLOCK_MS]
				})
			).rows[0];
			return countVerdict(count, window_start, limit, now);
		},
		async blocked(key: string, now: number): Promise<Verdict> {
			const row = (
				await run<{ blocked_until: number }>(pool, {
					name: 'rateLimitBlocked',
					text: `SELECT blocked_until FROM rate_limits WHERE key = $1 AND blocked_until > $2`,
					values: [key, now]
				})
			).rows[0];
			return row ? refuse(row.blocked_until, now, false) : { ok: true };
		},
		async fail(key: string, limit: Limit, now: number): Promise<Verdict> {
			const window = limit.windowSeconds * 1000;
			// expired: the window is over; base: the strikes after forgiving one for a quiet window
			// after a block; next: this failure's count; at the limit the key is blocked for
			// window · 2^base (at most MAX_BLOCK_MS) and the count starts again.
			const expired = `($2::bigint - r.window_start >= $3::bigint)`;
			const base = `least(${MAX_STRIKES}, CASE WHEN ${expired} AND r.strikes > 0 AND r.blocked_until + $3::bigint <= $2::bigint THEN r.strikes - 1 ELSE r.strikes END)`;
			const next = `(CASE WHEN ${expired} THEN 1 ELSE r.count + 1 END)`;
			const reached = `(${next} >= $4::integer)`;
			const row = (
				await run<{ blocked_until: number; just_blocked: boolean }>(pool, {
					name: 'rateLimitFail',
					text: `INSERT INTO rate_limits AS r (key, window_start, count, blocked_until, strikes, forget_at)
					 VALUES ($1, $2::bigint, CASE WHEN 1 >= $4::integer THEN 0 ELSE 1 END, CASE WHEN 1 >= $4::integer THEN $2::bigint + $3::bigint ELSE 0 END,
						CASE WHEN 1 >= $4::integer THEN 1 ELSE 0 END, $2::bigint + $5::bigint + $3::bigint)
					 ON CONFLICT (key) DO UPDATE SET
						count = CASE WHEN ${reached} THEN 0 ELSE ${next} END,
						window_start = CASE WHEN ${reached} OR ${expired} THEN $2::bigint ELSE r.window_start END,
						strikes = CASE WHEN ${reached} THEN least(${MAX_STRIKES}, ${base} + 1) ELSE ${base} END,
						blocked_until = CASE WHEN ${reached} THEN $2::bigint + least($5::bigint, $3::bigint * power(2, ${base})::bigint) ELSE r.blocked_until END,
						forget_at = greatest(r.forget_at, $2::bigint + $5::bigint + least($5::bigint, $3::bigint * power(2, ${base})::bigint))
					 RETURNING blocked_until, (count = 0 AND window_start = $2::bigint AND blocked_until > $2::bigint) AS just_blocked`,
					values: [key, now, window, limit.count, MAX_BLOCK_MS]
				})
			).rows[0];
			return row.just_blocked ? refuse(row.blocked_until, now, true) : { ok: true };
		},
		async prune(now: number): Promise<void> {
			await run(pool, {
				name: 'rateLimitPrune',
				// Everything over, in one statement by the forget_at index: a flood of addresses is gone by the next sweep.
				text: `DELETE FROM rate_limits WHERE forget_at <= $1`,
				values: [now]
			});
		}
	};
}
