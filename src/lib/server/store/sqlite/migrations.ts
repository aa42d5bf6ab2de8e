import { orderMigrations } from '../migrations';
import type { Store } from '../store';
import type { Connection } from './connection';

/** Read and ordered once, at start-up. */
const MIGRATIONS = orderMigrations(import.meta.glob<string>('./migrations/*.sql', { query: '?raw', import: 'default', eager: true }));

/**
 * Applies the numbered migrations not yet recorded, all in one IMMEDIATE transaction
 * that reads the applied list under the write lock: processes started together on one
 * file take turns, and each sees what the one before it applied.
 */
export function migrate(db: Connection) {
	db.transaction(() => {
		db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`);
		const applied = new Set(
			db
				.prepare<[], { name: string }>(`SELECT name FROM schema_migrations`)
				.all()
				.map((r) => r.name)
		);
		const record = db.prepare<[string, number]>(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`);
		for (const [name, sql] of MIGRATIONS) {
			if (applied.has(name)) continue;
			db.exec(sql);
			record.run(name, Date.now());
		}
	}).immediate();
}

export function schema(db: Connection): Pick<Store, 'schemaIsCurrent'> {
	return {
		schemaIsCurrent: async () => {
			const applied = new Set(
				db
					.prepare<[], { name: string }>(`SELECT name FROM schema_migrations`)
					.all()
					.map((row) => row.name)
			);
			return MIGRATIONS.every(([name]) => applied.has(name));
		}
	};
}
