import { MemoryLimiter } from '../../core/rate-limit';
import type { Database, Store } from '../store';
import { approvals } from './approvals';
import { audit } from './audit';
import { authorizationCodes } from './authorization-codes';
import { clients } from './clients';
import { connection, openConnection } from './connection';
import { deviceAuthorizations } from './device-authorizations';
import { dpopProofs } from './dpop-proofs';
import { grants } from './grants';
import { migrate, schema } from './migrations';
import { people } from './people';
import { polls } from './polls';
import { grantWrites } from './shared';
import { signingKeys } from './signing-keys';
import { sweeps } from './sweeps';

/**
 * The SQLite engine of the store contract (store.ts): one process on one file, with
 * better-sqlite3. Each area's file prepares its statements once, each beside the method
 * that runs it; work that needs several statements runs them in one transaction there,
 * never calling back into domain code. Rate limits are kept in this process's memory.
 */
export async function openSqliteStore(path: string): Promise<Database> {
	const db = openConnection(path);
	migrate(db);
	const writes = grantWrites(db);
	const limiter = new MemoryLimiter();
	const store: Store = {
		...connection(db),
		...schema(db),
		...people(db),
		...clients(db),
		...deviceAuthorizations(db, limiter),
		...polls(db),
		...approvals(db, writes),
		...authorizationCodes(db, writes),
		...grants(db, writes),
		...dpopProofs(db),
		...signingKeys(db),
		...audit(db),
		...sweeps(db)
	};
	return { store, limiter };
}

export { backupSqliteFile } from './connection';
