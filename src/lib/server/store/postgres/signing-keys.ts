import { ERASED_PRIVATE_KEY, type Store, type StoredSigningKey } from '../store';
import { run, SIGNING_KEY_LOCK, type Connection } from './connection';

type SigningKeys = Pick<Store, 'listSigningKeys' | 'addSigningKey' | 'sealSigningKey' | 'eraseRetiredPrivateKeys' | 'deleteExpiredSigningKeys'>;

/** Signing keys (oauth/signing-keys.ts decides when to make one). */
export function signingKeys({ pool, query, transaction }: Connection): SigningKeys {
	return {
		listSigningKeys: (now) =>
			query<StoredSigningKey>(
				'listSigningKeys',
				`SELECT kid, alg, public_jwk AS "publicJwk", private_jwk AS "privateJwk", created_at AS "createdAt", activates_at AS "activatesAt",
					retires_at AS "retiresAt", expires_at AS "expiresAt"
				 FROM signing_keys WHERE expires_at > $1 ORDER BY activates_at`,
				[now]
			),
		// Instances making the next key at once: one adds it, under a lock.
		addSigningKey: (key) =>
			transaction(async (client) => {
				await client.query('SELECT pg_advisory_xact_lock($1)', [SIGNING_KEY_LOCK]);
				const added = await client.query(
					`INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk, created_at, activates_at, retires_at, expires_at)
				 SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE retires_at > $6)`,
					[key.kid, key.alg, key.publicJwk, key.privateJwk, key.createdAt, key.activatesAt, key.retiresAt, key.expiresAt]
				);
				return added.rowCount === 1;
			}),

		sealSigningKey: async (kid, stored, sealed) => {
			await query('sealSigningKey', `UPDATE signing_keys SET private_jwk = $3 WHERE kid = $1 AND private_jwk = $2`, [kid, stored, sealed]);
		},
		eraseRetiredPrivateKeys: async (retiredBefore) =>
			(
				await run(pool, {
					name: 'eraseRetiredPrivateKeys',
					text: `UPDATE signing_keys SET private_jwk = $2 WHERE retires_at <= $1 AND private_jwk <> $2`,
					values: [retiredBefore, ERASED_PRIVATE_KEY]
				})
			).rowCount ?? 0,
		deleteExpiredSigningKeys: async (now) =>
			(await run(pool, { name: 'deleteExpiredSigningKeys', text: `DELETE FROM signing_keys WHERE expires_at <= $1`, values: [now] })).rowCount ?? 0
	};
}
