import type pg from 'pg';
import { orderMigrations } from '../migrations';
import type { Store } from '../store';
import { MIGRATION_LOCK, type Connection } from './connection';

/** Read and ordered once, at start-up. */
const MIGRATIONS = orderMigrations(import.meta.glob<string>('./migrations/*.sql', { query: '?raw', import: 'default', eager: true }));

/**
 * Applies the numbered migrations not yet recorded, in one transaction under an advisory
 * lock: instances started together on an empty database take turns, and each sees what
 * the one before it applied.
 */
export async function migrate(pool: pg.Pool): Promise<void> {
	const client = await pool.connect();
	try {
		await client.query('BEGIN');
		await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
		await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`);
		const applied = new Set((await client.query<{ name: string }>(`SELECT name FROM schema_migrations`)).rows.map((row) => row.name));
		for (const [name, sql] of MIGRATIONS) {
			if (applied.has(name)) continue;
			await client.query(sql);
			await client.query(`INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, [name, Date.now()]);
		}
		await client.query('COMMIT');
	} catch (error) {
		await client.query('ROLLBACK').catch(() => {});
		throw error;
	} finally {
		client.release();
	}
}

export function schema({ query }: Connection) {
	const schemaIsCurrent: Store['schemaIsCurrent'] = async () => {
		const applied = new Set((await query<{ name: string }>('appliedMigrations', `SELECT name FROM schema_migrations`, [])).map((row) => row.name));
		return MIGRATIONS.every(([name]) => applied.has(name));
	};

	return { schemaIsCurrent };
}
