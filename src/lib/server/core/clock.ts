import type { Store } from '../store/store';

/**
 * The time every decision is made at (expiry, the poll clock behind slow_down, rate-limit
 * windows): this process's clock, corrected to the database's. Instances sharing one
 * PostgreSQL whose own clocks differ by a few seconds so decide alike; with SQLite the
 * database's clock is this machine's and the correction is nil.
 */
let offsetMs = 0;

export function now(): number {
	return Date.now() + offsetMs;
}

/** How often the correction is measured again (clocks drift, NTP steps them). */
const REMEASURE_MS = 60_000;

/** Measures the database's clock against this process's now and every minute; never keeps the process alive. */
export async function followDatabaseClock(store: Store): Promise<() => void> {
	const measure = async () => {
		const sent = Date.now();
		const database = await store.databaseTime();
		const received = Date.now();
		// The database read its clock somewhere between sending and receiving: assume halfway.
		offsetMs = Math.round(database - (sent + received) / 2);
	};
	await measure();
	const timer = setInterval(() => void measure().catch(() => {}), REMEASURE_MS);
	timer.unref();
	return () => clearInterval(timer);
}
