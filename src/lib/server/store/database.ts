import type { Config } from '../core/config';
import { measured } from '../core/metrics';
import { openPostgresStore } from './postgres/postgres-store';
import { backupSqliteFile, openSqliteStore } from './sqlite/sqlite-store';
import type { Database } from './store';

/**
 * The configured engine: PostgreSQL at DATABASE_URL (many instances, limits kept in the
 * database), else SQLite at DATABASE_PATH (one process, limits kept in its memory).
 */
export async function openDatabase(config: Config): Promise<Database> {
	const database = config.databaseUrl
		? await openPostgresStore({ url: config.databaseUrl, poolSize: config.databasePoolSize })
		: await openSqliteStore(config.databasePath);
	// Every store operation's time goes to doorcode_database_operation_duration_seconds.
	return { ...database, store: measured(database.store) };
}

/**
 * A consistent copy of the configured SQLite database at `file`, a new file readable by its
 * owner alone, taken while the server runs; nothing is migrated, so a newer build's backup
 * before an upgrade leaves the running server's file as it is. PostgreSQL: pg_dump.
 */
export async function backupDatabase(config: Config, file: string): Promise<void> {
	if (config.databaseUrl) throw new Error(`${describeDatabase(config)} is backed up with pg_dump`);
	await backupSqliteFile(config.databasePath, file);
}

/** Where the data lives, for logs: never the URL itself, which may hold a password. */
export function describeDatabase(config: Config): string {
	if (!config.databaseUrl) return `SQLite at ${config.databasePath}`;
	const url = new URL(config.databaseUrl);
	return `PostgreSQL at ${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
}
