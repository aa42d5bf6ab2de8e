/**
 * doorcode's own rate limits: fixed windows per key, and for wrong user codes a growing
 * wait (RFC 8628 §5.1: guessing must be slow). A refusal says how many seconds to wait.
 * Two keepers follow the same rules: MemoryLimiter for one process (SQLite), and the
 * PostgreSQL engine's, in the database, for many instances. RATE_LIMITS=off: NO_LIMITS.
 */

export interface Limit {
	count: number;
	windowSeconds: number;
}

/** `first` marks the first refusal of a window or block: the one worth an audit line. */
export type Verdict = { ok: true } | { ok: false; retryAfter: number; first: boolean };

export interface Limiter {
	/** Counts one request against `limit`; past `limit.count` in a window, refused until the window ends. */
	consume(key: string, limit: Limit, now: number): Promise<Verdict>;
	/** Whether `key` is waiting out a block earned by failures (wrong codes). */
	blocked(key: string, now: number): Promise<Verdict>;
	/**
	 * Records a failure; the `limit.count`-th in a window blocks `key` for the window's length,
	 * doubled for every earlier block (up to MAX_BLOCK_MS); a whole quiet window after a
	 * block ends forgives one earlier block.
	 */
	fail(key: string, limit: Limit, now: number): Promise<Verdict>;
	/** Forgets windows that are over and not blocking, so memory and tables stay bounded. */
	prune(now: number): Promise<void>;
}

const ALLOWED: Verdict = { ok: true };

export const NO_LIMITS: Limiter = {
	consume: async () => ALLOWED,
	blocked: async () => ALLOWED,
	fail: async () => ALLOWED,
	prune: async () => {}
};

interface Window {
	start: number;
	count: number;
	blockedUntil: number;
	strikes: number;
}

/** A block after too many failures doubles with every repeat, up to an hour. */
export const MAX_BLOCK_MS = 60 * 60 * 1000;
/** Past this many keys, expired windows are dropped so memory stays bounded. */
const PRUNE_AT = 50_000;

/** How long the `strikes`-th block lasts. */
export function blockMs(limit: Limit, strikes: number): number {
	return Math.min(MAX_BLOCK_MS, limit.windowSeconds * 1000 * 2 ** strikes);
}

/** The limits of one process, in memory: SQLite's, where one process is all there is. */
export class MemoryLimiter implements Limiter {
	private readonly windows = new Map<string, Window>();

	async consume(key: string, limit: Limit, now: number): Promise<Verdict> {
		const window = this.window(key, limit, now);
		window.count++;
		if (window.count <= limit.count) return ALLOWED;
		return refuse(window.start + limit.windowSeconds * 1000, now, window.count === limit.count + 1);
	}

	async blocked(key: string, now: number): Promise<Verdict> {
		const window = this.windows.get(key);
		return window && window.blockedUntil > now ? refuse(window.blockedUntil, now, false) : ALLOWED;
	}

	async fail(key: string, limit: Limit, now: number): Promise<Verdict> {
		const window = this.window(key, limit, now);
		window.count++;
		if (window.count < limit.count) return ALLOWED;
		window.blockedUntil = now + blockMs(limit, window.strikes);
		window.strikes++;
		window.count = 0;
		window.start = now;
		return refuse(window.blockedUntil, now, true);
	}

	private window(key: string, limit: Limit, now: number): Window {
		let window = this.windows.get(key);
		if (!window) {
			if (this.windows.size >= PRUNE_AT) this.forget(now);
			window = { start: now, count: 0, blockedUntil: 0, strikes: 0 };
			this.windows.set(key, window);
		} else if (now - window.start >= limit.windowSeconds * 1000) {
			// A whole quiet window after a block ends forgives one earlier block.
			if (window.strikes > 0 && window.blockedUntil + limit.windowSeconds * 1000 <= now) window.strikes--;
			window.start = now;
			window.count = 0;
		}
		return window;
	}

	async prune(now: number): Promise<void> {
		this.forget(now);
	}

	private forget(now: number): void {
		for (const [key, window] of this.windows) {
			if (window.blockedUntil <= now && now - window.start > MAX_BLOCK_MS) this.windows.delete(key);
		}
	}
}

export function refuse(until: number, now: number, first: boolean): Verdict {
	return { ok: false, retryAfter: Math.max(1, Math.ceil((until - now) / 1000)), first };
}

/** "5/60": five per sixty seconds. */
export function parseLimit(value: string): Limit | null {
	const match = /^(\d+)\/(\d+)$/.exec(value.trim());
	if (!match) return null;
	const count = Number(match[1]);
	const windowSeconds = Number(match[2]);
	return count >= 1 && windowSeconds >= 1 && windowSeconds <= 86_400 ? { count, windowSeconds } : null;
}
