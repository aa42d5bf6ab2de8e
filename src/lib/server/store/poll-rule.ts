import type { DeviceStatus, PollOutcome } from './store';

/** What a poll decision reads of a device authorization. */
export interface PollState {
	status: DeviceStatus;
	expiresAt: number;
	/** When the last poll that was not refused with slow_down was answered. */
	lastPolledAt: number | null;
	intervalSeconds: number;
}

export interface PollDecision {
	outcome: PollOutcome;
	intervalSeconds: number;
	/** The clock after this poll: its own time, or (slowed down) the last answered poll's. */
	lastPolledAt: number;
}

/** RFC 8628 §3.5: a client that polls too fast waits 5 seconds more on every later poll. */
export const SLOW_DOWN_SECONDS = 5;

/**
 * RFC 8628 §3.4–3.5, the decision every poll of a device code makes, in this order:
 * a redeemed code that comes back was leaked (replayed); a poll sooner than the interval
 * after the last answered poll is slowed down (+5 s, and the clock is not restarted, so a
 * client that backs off gets through); then denied; then expired; an approved code is
 * offered for redemption (issue: redeemApprovedAuthorization decides which poll gets the
 * tokens); anything else is still pending. SQLite applies this function to one read of the
 * row and its in-memory clock (poll-clock.ts); PostgreSQL computes it in one statement.
 * The store contract tests hold both engines to this function.
 */
export function decidePoll(state: PollState, now: number): PollDecision {
	const answered = (outcome: PollOutcome): PollDecision => ({ outcome, intervalSeconds: state.intervalSeconds, lastPolledAt: now });
	if (state.status === 'consumed') return answered('replayed');
	if (state.lastPolledAt !== null && now < state.lastPolledAt + state.intervalSeconds * 1000) {
		return { outcome: 'slow_down', intervalSeconds: state.intervalSeconds + SLOW_DOWN_SECONDS, lastPolledAt: state.lastPolledAt };
	}
	if (state.status === 'denied') return answered('denied');
	if (state.expiresAt <= now) return answered('expired');
	if (state.status === 'approved') return answered('issue');
	return answered('pending');
}
