import { ERASED_PRIVATE_KEY, type Store, type StoredSigningKey } from '../store';
import type { Connection } from './connection';

/** Signing keys (oauth/signing-keys.ts decides when to make one). */
export function signingKeys(db: Connection) {
	const publishedKeys = db.prepare<[number], StoredSigningKey>(
		`SELECT kid, alg, public_jwk AS publicJwk, private_jwk AS privateJwk, created_at AS createdAt, activates_at AS activatesAt,
			retires_at AS retiresAt, expires_at AS expiresAt
		 FROM signing_keys WHERE expires_at > ? ORDER BY activates_at`
	);
	const listSigningKeys: Store['listSigningKeys'] = async (now) => publishedKeys.all(now);

	const keyInsert = db.prepare<[StoredSigningKey]>(
		`INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk, created_at, activates_at, retires_at, expires_at)
		 SELECT :kid, :alg, :publicJwk, :privateJwk, :createdAt, :activatesAt, :retiresAt, :expiresAt
		 WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE retires_at > :activatesAt)`
	);
	const addSigningKey: Store['addSigningKey'] = async (key) => keyInsert.run(key).changes === 1;

	const keySeal = db.prepare<[string, string, string]>(`UPDATE signing_keys SET private_jwk = ? WHERE kid = ? AND private_jwk = ?`);
	const sealSigningKey: Store['sealSigningKey'] = async (kid, stored, sealed) => void keySeal.run(sealed, kid, stored);

	const retiredKeysErasure = db.prepare<[string, number, string]>(`UPDATE signing_keys SET private_jwk = ? WHERE retires_at <= ? AND private_jwk <> ?`);
	const eraseRetiredPrivateKeys: Store['eraseRetiredPrivateKeys'] = async (retiredBefore) =>
		retiredKeysErasure.run(ERASED_PRIVATE_KEY, retiredBefore, ERASED_PRIVATE_KEY).changes;

	const expiredKeysDelete = db.prepare<[number]>(`DELETE FROM signing_keys WHERE expires_at <= ?`);
	const deleteExpiredSigningKeys: Store['deleteExpiredSigningKeys'] = async (now) => expiredKeysDelete.run(now).changes;

	return { listSigningKeys, addSigningKey, sealSigningKey, eraseRetiredPrivateKeys, deleteExpiredSigningKeys };
}
