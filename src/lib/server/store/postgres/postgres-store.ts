import type { Database, Store } from '../store';
import { approvals } from './approvals';
import { audit } from './audit';
import { authorizationCodes } from './authorization-codes';
import { clients } from './clients';
import { connection, DEFAULT_POOL_SIZE, openConnection } from './connection';
import { deviceAuthorizations } from './device-authorizations';
import { dpopProofs } from './dpop-proofs';
import { grants } from './grants';
import { postgresLimiter } from './limiter';
import { migrate, schema } from './migrations';
import { people } from './people';
import { polls } from './polls';
import { signingKeys } from './signing-keys';
import { sweeps } from './sweeps';

/**
 * The PostgreSQL engine of the store contract (store.ts), with node-postgres: any number
 * of doorcode instances share one database. Every state transition is one statement
 * (`UPDATE … WHERE status = … RETURNING`) or one transaction on one connection; rate
 * limits and address blocks live in the database too, so they hold across instances.
 * Each area's file holds its statements, each in the method that runs it.
 */

export { DEFAULT_POOL_SIZE } from './connection';

export interface PostgresOptions {
	url: string;
	poolSize?: number;
}

export async function openPostgresStore({ url, poolSize = DEFAULT_POOL_SIZE }: PostgresOptions): Promise<Database> {
	const db = openConnection(url, poolSize);
	await migrate(db.pool);
	const store: Store = {
		...connection(db),
		...schema(db),
		...people(db),
		...clients(db),
		...deviceAuthorizations(db),
		...polls(db),
		...approvals(db),
		...authorizationCodes(db),
		...grants(db),
		...dpopProofs(db),
		...signingKeys(db),
		...audit(db),
		...sweeps(db)
	};
	return { store, limiter: postgresLimiter(db.pool) };
}
