import type { Store } from '../store';
import { run, type Connection } from './connection';

/** DPoP proofs seen while their iat is accepted (RFC 9449 §11.1), shared by every instance: each jti works once per key. */
export function dpopProofs({ clockPool }: Connection): Pick<Store, 'recordDpopProof'> {
	return {
		// One statement: of two instances given the same proof at once, one inserts and the other
		// finds the row. On the poll's pool, committed without waiting for the WAL flush, as a poll
		// is: only a crash of the database itself could forget the last proofs, within their minute.
		// A row the sweeper has not reached yet, past its expiry, is taken over.
		recordDpopProof: async (proofHash, expiresAt, now) =>
			(
				await run(clockPool, {
					name: 'recordDpopProof',
					text: `INSERT INTO dpop_proofs (proof_hash, expires_at) VALUES ($1, $2)
						 ON CONFLICT (proof_hash) DO UPDATE SET expires_at = excluded.expires_at WHERE dpop_proofs.expires_at <= $3
						 RETURNING 1`,
					values: [proofHash, expiresAt, now]
				})
			).rowCount === 1
	};
}
