import type { Store } from '../store';
import { run, type Connection } from './connection';

type Sweeps = Pick<
	Store,
	| 'deleteExpiredDeviceAuthorizations'
	| 'deleteExpiredTokens'
	| 'deleteExpiredSessions'
	| 'deleteExpiredBlocks'
	| 'deleteExpiredAuthorizationCodes'
	| 'deleteExpiredDpopProofs'
>;

/** Sweeping: each deletes at most `limit` expired rows and says how many it deleted. */
export function sweeps({ pool }: Connection): Sweeps {
	const sweepBatch = async (name: string, table: string, key: string, column: string, now: number, limit: number) =>
		(
			await run(pool, {
				name,
				// SKIP LOCKED: instances sweeping at once take different rows and never wait on each other.
				text: `DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ${column} <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
				values: [now, limit]
			})
		).rowCount ?? 0;

	return {
		deleteExpiredDeviceAuthorizations: (now, limit) => sweepBatch('sweepDeviceAuthorizations', 'device_authorizations', 'id', 'expires_at', now, limit),
		deleteExpiredTokens: (now, limit) => sweepBatch('sweepTokens', 'tokens', 'token_hash', 'expires_at', now, limit),
		deleteExpiredSessions: (now, limit) => sweepBatch('sweepSessions', 'sessions', 'token_hash', 'expires_at', now, limit),
		deleteExpiredBlocks: (now, limit) => sweepBatch('sweepBlocks', 'blocked_addresses', 'ip', 'until', now, limit),
		deleteExpiredAuthorizationCodes: (now, limit) => sweepBatch('sweepAuthorizationCodes', 'authorization_codes', 'id', 'expires_at', now, limit),
		deleteExpiredDpopProofs: (now, limit) => sweepBatch('sweepDpopProofs', 'dpop_proofs', 'proof_hash', 'expires_at', now, limit)
	};
}
