import { decidePoll } from '../poll-rule';
import type { DeviceAuthorizationRow, Store } from '../store';
import type { Connection } from './connection';
import { PollClock } from './poll-clock';

/** What a poll reads of its device authorization. */
type PollStateRow = Pick<
	DeviceAuthorizationRow,
	'id' | 'status' | 'created_at' | 'expires_at' | 'interval_seconds' | 'entered_at' | 'denial_reason' | 'grant_id'
> & { dpop_jkt: string | null };

/** A CLI's polls (RFC 8628 §3.4–3.5), decided by poll-rule.ts on one read and this process's poll clock. */
export function polls(db: Connection) {
	const pollClock = new PollClock();

	// What a poll decides on (poll-rule.ts); the clock is in memory (poll-clock.ts).
	const pollState = db.prepare<[Buffer, string], PollStateRow>(
		`SELECT id, status, created_at, expires_at, interval_seconds, entered_at, denial_reason, grant_id, dpop_jkt
		 FROM device_authorizations WHERE device_code_hash = ? AND client_id = ?`
	);
	// Only a slow_down writes: the longer interval outlives the process.
	const pollInterval = db.prepare<[number, number]>(`UPDATE device_authorizations SET interval_seconds = ? WHERE id = ?`);

	/** decidePoll on the row and this process's clock: a waiting poll reads and writes nothing else. */
	const pollDeviceAuthorization: Store['pollDeviceAuthorization'] = async (deviceCodeHash, clientId, dpopJkt, now) => {
		const row = pollState.get(deviceCodeHash, clientId);
		if (!row) return undefined;
		const answer = { id: row.id, entered_at: row.entered_at, denial_reason: row.denial_reason, grant_id: row.grant_id };
		// Bound to another key: not a poll of this code, so its clock is left as it was.
		if (row.dpop_jkt !== null && row.dpop_jkt !== dpopJkt) {
			return { ...answer, last_poll_outcome: 'wrong_dpop_key', last_polled_at: null, interval_seconds: row.interval_seconds };
		}
		const decision = decidePoll(
			{
				status: row.status,
				expiresAt: row.expires_at,
				intervalSeconds: row.interval_seconds,
				lastPolledAt: pollClock.lastPolledAt(row.id, row.interval_seconds, row.created_at)
			},
			now
		);
		if (decision.intervalSeconds !== row.interval_seconds) pollInterval.run(decision.intervalSeconds, row.id);
		pollClock.record(row.id, decision.lastPolledAt, decision.intervalSeconds, now);
		return { ...answer, last_poll_outcome: decision.outcome, last_polled_at: decision.lastPolledAt, interval_seconds: decision.intervalSeconds };
	};

	return { pollDeviceAuthorization };
}
