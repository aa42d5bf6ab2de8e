import { SLOW_DOWN_SECONDS } from '../poll-rule';
import type { PolledAuthorization, Store } from '../store';
import { run, type Connection } from './connection';

/** A poll sooner than the interval after the last poll that was answered (poll-rule.ts). */
const TOO_SOON = '(last_polled_at IS NOT NULL AND $3 < last_polled_at + interval_seconds::bigint * 1000)';

/** A CLI's polls (RFC 8628 §3.4–3.5): poll-rule.ts's decision as one statement, the clock kept in the row. */
export function polls({ clockPool, one }: Connection): Pick<Store, 'pollDeviceAuthorization'> {
	return {
		// decidePoll (poll-rule.ts) as one statement and one round trip, in the same order; every
		// SET expression reads the row as it was. Committed without waiting for the WAL flush.
		// A code bound to another DPoP key is not updated; only then a second read says so.
		pollDeviceAuthorization: async (deviceCodeHash, clientId, dpopJkt, now) =>
			(
				await run<PolledAuthorization>(clockPool, {
					name: 'pollDeviceAuthorization',
					text: `UPDATE device_authorizations SET
						last_poll_outcome = CASE
							WHEN status = 'consumed' THEN 'replayed'
							WHEN ${TOO_SOON} THEN 'slow_down'
							WHEN status = 'denied' THEN 'denied'
							WHEN expires_at <= $3 THEN 'expired'
							WHEN status = 'approved' THEN 'issue'
							ELSE 'pending'
						END,
						interval_seconds = interval_seconds + CASE WHEN status <> 'consumed' AND ${TOO_SOON} THEN ${SLOW_DOWN_SECONDS} ELSE 0 END,
						last_polled_at = CASE WHEN status <> 'consumed' AND ${TOO_SOON} THEN last_polled_at ELSE $3 END
					 WHERE device_code_hash = $1 AND client_id = $2 AND (dpop_jkt IS NULL OR dpop_jkt = $4)
					 RETURNING id, last_poll_outcome AS "lastPollOutcome", last_polled_at AS "lastPolledAt", interval_seconds AS "intervalSeconds",
						entered_at AS "enteredAt", denial_reason AS "denialReason", grant_id AS "grantId"`,
					values: [deviceCodeHash, clientId, now, dpopJkt]
				})
			).rows[0] ??
			one<PolledAuthorization>(
				'pollDeviceAuthorizationWithWrongKey',
				`SELECT id, 'wrong_dpop_key' AS "lastPollOutcome", NULL::bigint AS "lastPolledAt", interval_seconds AS "intervalSeconds",
					entered_at AS "enteredAt", denial_reason AS "denialReason", grant_id AS "grantId"
				 FROM device_authorizations WHERE device_code_hash = $1 AND client_id = $2`,
				[deviceCodeHash, clientId]
			)
	};
}
