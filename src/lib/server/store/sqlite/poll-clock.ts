/**
 * The SQLite engine's poll clock: for each recently polled device authorization, the
 * moment from which its next poll is on time, in this process's memory. With it a waiting
 * poll is one read instead of a write, and a poll-only load adds nothing to the WAL that
 * checkpoints would then copy and `fsync` on the event loop.
 *
 * The clock needs no durability: a restart that forgets it costs a CLI at most one poll
 * that is not slowed down (the interval a slow_down adds is written to the row). One
 * process serves a SQLite file, as its in-memory rate limits already assume; PostgreSQL,
 * for many instances, keeps the clock in the row. An entry whose moment has passed changes
 * no decision (poll-rule.ts only asks whether a poll comes before it), so it is dropped.
 */
export class PollClock {
	private readonly onTimeFrom = new Map<number, number>();
	private pruneAt = PRUNE_AT;

	/**
	 * When the last answered poll was, given the authorization's current interval; null if none
	 * counts. A clock older than the row is a deleted row's whose id SQLite gave a new code.
	 */
	lastPolledAt(authorizationId: number, intervalSeconds: number, createdAt: number): number | null {
		const from = this.onTimeFrom.get(authorizationId);
		if (from === undefined) return null;
		const last = from - intervalSeconds * 1000;
		return last < createdAt ? null : last;
	}

	record(authorizationId: number, lastPolledAt: number, intervalSeconds: number, now: number): void {
		this.onTimeFrom.set(authorizationId, lastPolledAt + intervalSeconds * 1000);
		if (this.onTimeFrom.size >= this.pruneAt) this.prune(now);
	}

	get size(): number {
		return this.onTimeFrom.size;
	}

	/** Drops the entries that no longer matter; the next prune waits until the map has doubled. */
	prune(now: number): void {
		for (const [id, from] of this.onTimeFrom) if (from <= now) this.onTimeFrom.delete(id);
		this.pruneAt = Math.max(PRUNE_AT, 2 * this.onTimeFrom.size);
	}
}

/** A map this size (about 0.5 MB) is pruned; the busiest servers poll each code every few seconds. */
const PRUNE_AT = 10_000;
