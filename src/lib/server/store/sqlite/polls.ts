import { decidePoll } from '../poll-rule';
import type { DeviceAuthorization, Store } from '../store';
import type { Connection } from './connection';
import { PollClock } from './poll-clock';

/** What a poll reads of its device authorization. */
type PollState = Pick<DeviceAuthorization, 'id' | 'status' | 'createdAt' | 'expiresAt' | 'intervalSeconds' | 'enteredAt' | 'denialReason' | 'grantId'> & {
	dpopJkt: string | null;
};

/** A CLI's polls (RFC 8628 §3.4–3.5), decided by poll-rule.ts on one read and this process's poll clock. */
export function polls(db: Connection) {
	const pollClock = new PollClock();

	// What a poll decides on (poll-rule.ts); the clock is in memory (poll-clock.ts).
	const pollState = db.prepare<[Buffer, string], PollState>(
		`SELECT id, status, created_at AS createdAt, expires_at AS expiresAt, interval_seconds AS intervalSeconds, entered_at AS enteredAt,
			denial_reason AS denialReason, grant_id AS grantId, dpop_jkt AS dpopJkt
		 FROM device_authorizations WHERE device_code_hash = ? AND client_id = ?`
	);
	// Only a slow_down writes: the longer interval outlives the process.
	const pollInterval = db.prepare<[number, number]>(`UPDATE device_authorizations SET interval_seconds = ? WHERE id = ?`);

	/** decidePoll on the row and this process's clock: a waiting poll reads and writes nothing else. */
	const pollDeviceAuthorization: Store['pollDeviceAuthorization'] = async (deviceCodeHash, clientId, dpopJkt, now) => {
		const row = pollState.get(deviceCodeHash, clientId);
		if (!row) return undefined;
		const answer = { id: row.id, enteredAt: row.enteredAt, denialReason: row.denialReason, grantId: row.grantId };
		// Bound to another key: not a poll of this code, so its clock is left as it was.
		if (row.dpopJkt !== null && row.dpopJkt !== dpopJkt) {
			return { ...answer, lastPollOutcome: 'wrong_dpop_key', lastPolledAt: null, intervalSeconds: row.intervalSeconds };
		}
		const decision = decidePoll(
			{
				status: row.status,
				expiresAt: row.expiresAt,
				intervalSeconds: row.intervalSeconds,
				lastPolledAt: pollClock.lastPolledAt(row.id, row.intervalSeconds, row.createdAt)
			},
			now
		);
		if (decision.intervalSeconds !== row.intervalSeconds) pollInterval.run(decision.intervalSeconds, row.id);
		pollClock.record(row.id, decision.lastPolledAt, decision.intervalSeconds, now);
		return { ...answer, lastPollOutcome: decision.outcome, lastPolledAt: decision.lastPolledAt, intervalSeconds: decision.intervalSeconds };
	};

	return { pollDeviceAuthorization };
}
