import type { Services } from '../core/services';
import { now } from '../core/clock';
import { countSweep } from '../core/metrics';
import { ERASE_AFTER_RETIRED_MS } from '../oauth/signing-keys';
import { msFromSeconds } from '../core/time';

/** Rows deleted per statement: small enough that a poll never waits long behind a sweep. */
export const SWEEP_BATCH = 100;

/** How long the sweeper rests after each batch. */
export interface SweepPace {
	/** Rest this many times as long as the batch took: at most a tenth of the event loop. */
	restFactor: number;
	/**
	 * And never less than this. A batch's own time hides most of its cost: its ~200 random
	 * index pages are written back (and fsynced) by later WAL checkpoints, often inside a
	 * poll's commit. Paced by its own time alone, sweeping a million rows cost polls a third
	 * of their rate; at most 100 rows per 400 ms (21 million a day) it stays near the 10 %.
	 */
	minRestMs: number;
}

export const SWEEP_PACE: SweepPace = { restFactor: 9, minRestMs: 400 };

export interface SweepReport {
	deviceAuthorizations: number;
	authorizationCodes: number;
	tokens: number;
	sessions: number;
	blocks: number;
	dpopProofs: number;
}

/**
 * Deletes expired device authorizations (whatever their status: denied and consumed
 * rows are kept until expiry so a late poll still gets access_denied or invalid_grant),
 * expired authorization codes (a redeemed one likewise), expired tokens and sessions, ended address blocks and DPoP proofs past their window, in batches, yielding to the event loop between batches.
 * Device authorizations go oldest first: if the oldest SWEEP_BATCH rows are all still live
 * (possible only after DEVICE_CODE_TTL was lowered), expired rows behind them wait until
 * those expire, a day at most; an expired code is refused all the same meanwhile.
 */
export async function sweep({ store, limiter }: Services, at = now(), pace: SweepPace = SWEEP_PACE): Promise<SweepReport> {
	await limiter.prune(at);
	// A handful of rows at most: retired keys lose their private halves, unpublished ones go.
	await store.eraseRetiredPrivateKeys(at - ERASE_AFTER_RETIRED_MS);
	await store.deleteExpiredSigningKeys(at);
	const report: SweepReport = { deviceAuthorizations: 0, authorizationCodes: 0, tokens: 0, sessions: 0, blocks: 0, dpopProofs: 0 };
	const steps: [keyof SweepReport, (now: number, limit: number) => Promise<number>][] = [
		['deviceAuthorizations', store.deleteExpiredDeviceAuthorizations],
		['authorizationCodes', store.deleteExpiredAuthorizationCodes],
		['tokens', store.deleteExpiredTokens],
		['sessions', store.deleteExpiredSessions],
		['blocks', store.deleteExpiredBlocks],
		['dpopProofs', store.deleteExpiredDpopProofs]
	];
	for (const [name, deleteBatch] of steps) {
		for (;;) {
			const started = performance.now();
			const deleted = await deleteBatch(at, SWEEP_BATCH);
			report[name] += deleted;
			countSweep(name, deleted);
			// Not `< SWEEP_BATCH`: device authorizations are swept from the oldest rows, and a
			// batch there can be short because a live code sits among them (after DEVICE_CODE_TTL
			// was lowered), with expired rows behind it. A batch that deletes nothing ends the step.
			if (deleted === 0) break;
			const rest = Math.max(pace.minRestMs, (performance.now() - started) * pace.restFactor);
			await new Promise((resolve) => (rest >= 1 ? setTimeout(resolve, rest) : setImmediate(resolve)));
		}
	}
	return report;
}

/** Sweeps every SWEEP_INTERVAL seconds; one sweep at a time; never keeps the process alive. */
export function startSweeper(services: Services): () => void {
	let running = false;
	const timer = setInterval(() => {
		if (running) return;
		running = true;
		sweep(services)
			.catch((error: Error) => console.error(JSON.stringify({ level: 'error', msg: 'sweep failed', error: error.message })))
			.finally(() => (running = false));
	}, msFromSeconds(services.config.sweepIntervalSeconds));
	timer.unref();
	return () => clearInterval(timer);
}
