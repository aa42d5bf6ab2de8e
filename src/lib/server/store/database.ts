import type { Config } from '../core/config';
import { openPostgresDatabase } from './postgres/postgres-store';
import { measured } from '../core/metrics';
import { MemoryLimiter } from '../core/rate-limit';
import type { Database } from '../core/services';
import { openSqliteStore } from './sqlite/sqlite-store';

/**
 * The configured engine: PostgreSQL at DATABASE_URL (many instances, limits kept in the
 * database), else SQLite at DATABASE_PATH (one process, limits kept in its memory).
 */
export async function openDatabase(config: Config): Promise<Database> {
	const { store, limiter } = config.databaseUrl
		? await openPostgresDatabase({ url: config.databaseUrl, poolSize: config.databasePoolSize })
		: { store: openSqliteStore(config.databasePath), limiter: new MemoryLimiter() };
	// Every store operation's time goes to doorcode_database_operation_duration_seconds.
	return { store: measured(store), limiter };
}

/** Where the data lives, for logs: never the URL itself, which may hold a password. */
export function describeDatabase(config: Config): string {
	if (!config.databaseUrl) return `SQLite at ${config.databasePath}`;
	const url = new URL(config.databaseUrl);
	return `PostgreSQL at ${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
}
