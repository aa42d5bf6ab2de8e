/**
 * doorcode's own rate limits, in memory: fixed windows per key, and for wrong user
 * codes a growing wait (RFC 8628 §5.1: guessing must be slow). A refusal says how
 * many seconds to wait. RATE_LIMITS=off turns them all off.
 */

export interface Limit {
	count: number;
	windowSeconds: number;
}

/** `first` marks the first refusal of a window or block: the one worth an audit line. */
export type Verdict = { ok: true } | { ok: false; retryAfter: number; first: boolean };

interface Window {
	start: number;
	count: number;
	blockedUntil: number;
	strikes: number;
	refusals: number;
}

/** A block after too many failures doubles with every repeat, up to an hour. */
const MAX_BLOCK_MS = 60 * 60 * 1000;
/** Past this many keys, expired windows are dropped so memory stays bounded. */
const PRUNE_AT = 50_000;

export class RateLimiter {
	private readonly windows = new Map<string, Window>();

	constructor(readonly enabled: boolean) {}

	/** Counts one request against `limit`; refused once the window is full. */
	consume(key: string, limit: Limit, now: number): Verdict {
		if (!this.enabled) return { ok: true };
		const window = this.window(key, limit, now);
		if (window.count >= limit.count) return refuse(window, window.start + limit.windowSeconds * 1000, now);
		window.count++;
		return { ok: true };
	}

	/** Whether `key` is waiting out a block earned by failures (wrong codes). */
	blocked(key: string, now: number): Verdict {
		if (!this.enabled) return { ok: true };
		const window = this.windows.get(key);
		return window && window.blockedUntil > now ? refuse(window, window.blockedUntil, now) : { ok: true };
	}

	/** Records a failure; past `limit` in a window, `key` is blocked, longer each time. */
	fail(key: string, limit: Limit, now: number): Verdict {
		if (!this.enabled) return { ok: true };
		const window = this.window(key, limit, now);
		window.count++;
		if (window.count < limit.count) return { ok: true };
		const wait = Math.min(MAX_BLOCK_MS, limit.windowSeconds * 1000 * 2 ** window.strikes);
		window.strikes++;
		window.count = 0;
		window.start = now;
		window.blockedUntil = now + wait;
		window.refusals = 0;
		return refuse(window, window.blockedUntil, now);
	}

	private window(key: string, limit: Limit, now: number): Window {
		let window = this.windows.get(key);
		if (!window) {
			if (this.windows.size >= PRUNE_AT) this.prune(now);
			window = { start: now, count: 0, blockedUntil: 0, strikes: 0, refusals: 0 };
			this.windows.set(key, window);
		} else if (now - window.start >= limit.windowSeconds * 1000) {
			window.start = now;
			window.count = 0;
			window.refusals = 0;
			// A whole quiet window after a block ends forgives one earlier block.
			if (window.strikes > 0 && window.blockedUntil + limit.windowSeconds * 1000 <= now) window.strikes--;
		}
		return window;
	}

	/** Drops windows that are over and not blocking. */
	prune(now: number): void {
		for (const [key, window] of this.windows) {
			if (window.blockedUntil <= now && now - window.start > MAX_BLOCK_MS) this.windows.delete(key);
		}
	}
}

function refuse(window: Window, until: number, now: number): Verdict {
	window.refusals++;
	return { ok: false, retryAfter: Math.max(1, Math.ceil((until - now) / 1000)), first: window.refusals === 1 };
}

/** "5/60": five per sixty seconds. */
export function parseLimit(value: string): Limit | null {
	const match = /^(\d+)\/(\d+)$/.exec(value.trim());
	if (!match) return null;
	const count = Number(match[1]);
	const windowSeconds = Number(match[2]);
	return count >= 1 && windowSeconds >= 1 && windowSeconds <= 86_400 ? { count, windowSeconds } : null;
}
