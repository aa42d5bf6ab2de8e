import type { Store } from '../store';
import type { Connection } from './connection';

/** Sweeping: each deletes at most `limit` expired rows and says how many it deleted. */
export function sweeps(db: Connection) {
	// The expired among the oldest :limit rows. Codes are created in id order with one TTL, so
	// the expired ones are at the start of the table; no index on expires_at is needed.
	const expiredCodesDelete = db.prepare<[number, number]>(
		`DELETE FROM device_authorizations WHERE id IN
			(SELECT id FROM (SELECT id, expires_at FROM device_authorizations ORDER BY id LIMIT ?) WHERE expires_at <= ?)`
	);
	const deleteExpiredDeviceAuthorizations: Store['deleteExpiredDeviceAuthorizations'] = async (now, limit) => expiredCodesDelete.run(limit, now).changes;

	const expiredTokensDelete = db.prepare<[number, number]>(
		`DELETE FROM tokens WHERE token_hash IN (SELECT token_hash FROM tokens WHERE expires_at <= ? LIMIT ?)`
	);
	const deleteExpiredTokens: Store['deleteExpiredTokens'] = async (now, limit) => expiredTokensDelete.run(now, limit).changes;

	const expiredSessionsDelete = db.prepare<[number, number]>(
		`DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions WHERE expires_at <= ? LIMIT ?)`
	);
	const deleteExpiredSessions: Store['deleteExpiredSessions'] = async (now, limit) => expiredSessionsDelete.run(now, limit).changes;

	const expiredBlocksDelete = db.prepare<[number, number]>(
		`DELETE FROM blocked_addresses WHERE ip IN (SELECT ip FROM blocked_addresses WHERE until <= ? LIMIT ?)`
	);
	const deleteExpiredBlocks: Store['deleteExpiredBlocks'] = async (now, limit) => expiredBlocksDelete.run(now, limit).changes;

	const expiredAuthorizationCodesDelete = db.prepare<[number, number]>(
		`DELETE FROM authorization_codes WHERE id IN (SELECT id FROM authorization_codes WHERE expires_at <= ? LIMIT ?)`
	);
	const deleteExpiredAuthorizationCodes: Store['deleteExpiredAuthorizationCodes'] = async (now, limit) =>
		expiredAuthorizationCodesDelete.run(now, limit).changes;

	const expiredProofsDelete = db.prepare<[number, number]>(
		`DELETE FROM dpop_proofs WHERE proof_hash IN (SELECT proof_hash FROM dpop_proofs WHERE expires_at <= ? LIMIT ?)`
	);
	const deleteExpiredDpopProofs: Store['deleteExpiredDpopProofs'] = async (now, limit) => expiredProofsDelete.run(now, limit).changes;

	return {
		deleteExpiredDeviceAuthorizations,
		deleteExpiredTokens,
		deleteExpiredSessions,
		deleteExpiredBlocks,
		deleteExpiredAuthorizationCodes,
		deleteExpiredDpopProofs
	};
}
