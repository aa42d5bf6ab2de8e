import type { Store } from '../store';
import type { Connection } from './connection';
import { written } from './shared';

/** DPoP proofs seen while their iat is accepted (RFC 9449 §11.1): each jti works once per key. */
export function dpopProofs(db: Connection) {
	// A row left by the sweeper past its expiry no longer refuses anything: it is taken over.
	const proofInsert = db.prepare<[{ proofHash: Buffer; expiresAt: number; now: number }], { expires_at: number }>(
		`INSERT INTO dpop_proofs (proof_hash, expires_at) VALUES (:proofHash, :expiresAt)
		 ON CONFLICT (proof_hash) DO UPDATE SET expires_at = excluded.expires_at WHERE dpop_proofs.expires_at <= :now
		 RETURNING expires_at`
	);
	const recordDpopProof: Store['recordDpopProof'] = async (proofHash, expiresAt, now) => written(proofInsert.all({ proofHash, expiresAt, now })) !== undefined;

	return { recordDpopProof };
}
