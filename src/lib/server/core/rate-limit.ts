import { HOUR_MS, msFromSeconds, secondsUntil } from './time';

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
export const MAX_BLOCK_MS = HOUR_MS;
/**
 * Strikes stop counting here: 2^MAX_STRIKES windows of even one second pass MAX_BLOCK_MS,
 * and no arithmetic on them can overflow (PostgreSQL's bigint did at 48), however often
 * an address earns a block.
 */
export const MAX_STRIKES = 16;
/** The most keys the in-memory keeper holds; past it, the oldest windows are forgotten first. */
export const MAX_MEMORY_KEYS = 200_000;

/** How long the `strikes`-th block lasts. */
export function blockMs(limit: Limit, strikes: number): number {
	return Math.min(MAX_BLOCK_MS, msFromSeconds(limit.windowSeconds) * 2 ** Math.min(strikes, MAX_STRIKES));
}

/**
 * The limits of one process, in memory: SQLite's, where one process is all there is.
 * The map is kept in the order windows started (a window that starts again moves to the
 * end), so forgetting what is over reads from the front and stops at the first window
 * still live: constant work per new key, however many addresses flood in. Past
 * MAX_MEMORY_KEYS the oldest windows go first; a blocked one is moved to the back
 * instead, so a flood of new addresses cannot wash out a block.
 */
export class MemoryLimiter implements Limiter {
	private readonly windows = new Map<string, Window>();
	private readonly maxKeys: number;

	constructor(maxKeys = MAX_MEMORY_KEYS) {
		this.maxKeys = maxKeys;
	}

	get size(): number {
		return this.windows.size;
	}

	async consume(key: string, limit: Limit, now: number): Promise<Verdict> {
		const window = this.window(key, limit, now);
		window.count++;
		if (window.count <= limit.count) return ALLOWED;
		return refuse(window.start + msFromSeconds(limit.windowSeconds), now, window.count === limit.count + 1);
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
		window.strikes = Math.min(window.strikes + 1, MAX_STRIKES);
		window.count = 0;
		this.restart(key, window, now);
		return refuse(window.blockedUntil, now, true);
	}

	private window(key: string, limit: Limit, now: number): Window {
		let window = this.windows.get(key);
		if (!window) {
			this.makeRoom(now);
			window = { start: now, count: 0, blockedUntil: 0, strikes: 0 };
			this.windows.set(key, window);
		} else if (now - window.start >= msFromSeconds(limit.windowSeconds)) {
			// A whole quiet window after a block ends forgives one earlier block.
			if (window.strikes > 0 && window.blockedUntil + msFromSeconds(limit.windowSeconds) <= now) window.strikes--;
			window.count = 0;
			this.restart(key, window, now);
		}
		return window;
	}

	/** A window that starts again moves to the end of the map, which stays in start order. */
	private restart(key: string, window: Window, now: number): void {
		window.start = now;
		this.windows.delete(key);
		this.windows.set(key, window);
	}

	async prune(now: number): Promise<void> {
		this.forget(now);
	}

	/**
	 * Forgets windows over for a whole MAX_BLOCK_MS, from the oldest. A block ends at most
	 * MAX_BLOCK_MS after its window started, so such a window blocks nothing any more.
	 */
	private forget(now: number): void {
		for (const [key, window] of this.windows) {
			if (now - window.start <= MAX_BLOCK_MS) return;
			this.windows.delete(key);
		}
	}

	private makeRoom(now: number): void {
		if (this.windows.size < this.maxKeys) return;
		this.forget(now);
		// Still full: the oldest windows go, but a window that blocks moves to the back (a few at most per new key).
		for (let moved = 0; this.windows.size >= this.maxKeys;) {
			const [key, window] = this.windows.entries().next().value as [string, Window];
			this.windows.delete(key);
			if (window.blockedUntil > now && moved++ < 8) this.windows.set(key, window);
		}
	}
}

export function refuse(until: number, now: number, first: boolean): Verdict {
	return { ok: false, retryAfter: Math.max(1, secondsUntil(until, now)), first };
}

/** "5/60": five per sixty seconds. */
export function parseLimit(value: string): Limit | null {
	const match = /^(\d+)\/(\d+)$/.exec(value.trim());
	if (!match) return null;
	const count = Number(match[1]);
	const windowSeconds = Number(match[2]);
	return count >= 1 && windowSeconds >= 1 && windowSeconds <= 86_400 ? { count, windowSeconds } : null;
}

/**
 * The address a limit or an address block counts: an IPv4 address as it is, an IPv6
 * address as its /64 (one host is handed a whole /64, so its addresses are one client),
 * an IPv4-mapped IPv6 address (::ffff:192.0.2.1) as its IPv4 address.
 */
export function addressKey(ip: string | null): string {
	if (!ip) return 'unknown';
	const address = ip.split('%', 1)[0].toLowerCase();
	if (!address.includes(':')) return address;
	const [head, tail] = address.split('::', 2);
	const split = (part: string | undefined) => (part ? part.split(':') : []);
	const ipv4 = /\d+\.\d+\.\d+\.\d+$/.exec(address)?.[0];
	// An embedded IPv4 tail (…:192.0.2.1) stands for the last two of the eight groups.
	const present = split(head).length + split(tail).length + (ipv4 ? 1 : 0);
	const groups = [...split(head), ...Array<string>(tail === undefined ? 0 : 8 - present).fill('0'), ...split(tail)].map((group) =>
		(Number.parseInt(group, 16) || 0).toString(16)
	);
	if (ipv4 && groups.slice(0, 5).every((group) => group === '0') && groups[5] === 'ffff') return ipv4;
	return `${groups.slice(0, 4).join(':')}::/64`;
}
