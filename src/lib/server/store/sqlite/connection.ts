import Sqlite from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Store } from '../store';

/** The one connection every area of the SQLite engine prepares its statements on. */
export type Connection = Sqlite.Database;

/** Opens the file, its owner's alone, with the pragmas every connection of doorcode runs with. */
export function openConnection(path: string): Connection {
	if (path !== ':memory:') keepToOwner(path);
	const db = new Sqlite(path);
	// First, so that a second process opening the same new file waits instead of failing.
	db.pragma('busy_timeout = 5000');
	db.pragma('journal_mode = WAL');
	// WAL + NORMAL: a crash loses no committed transaction; only a power loss may drop the last ones.
	db.pragma('synchronous = NORMAL');
	db.pragma('foreign_keys = ON');
	return db;
}

/**
 * The database holds the signing keys and every hash: its file is its owner's alone (0600),
 * and SQLite gives its WAL and shared-memory files the same mode as the database file.
 */
function keepToOwner(path: string): void {
	mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
	closeSync(openSync(path, 'a', 0o600));
	for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
}

export function connection(db: Connection): Pick<Store, 'close' | 'databaseTime'> {
	return {
		close: async () => void db.close(),
		// One process on this machine: the database's clock is this one.
		databaseTime: async () => Date.now()
	};
}

/**
 * SQLite's online backup of `db` into `file`, a new file: a consistent copy while the server
 * keeps writing. The copy holds the signing keys: it is made readable by its owner alone
 * before a byte is written, and removed again if the copy fails.
 */
async function copyDatabase(db: Connection, file: string): Promise<void> {
	closeSync(openSync(file, 'wx', 0o600));
	try {
		await db.backup(file);
	} catch (error) {
		rmSync(file, { force: true });
		throw error;
	}
}

/**
 * A consistent copy of the SQLite file at `path` into `file`, taken while the server runs,
 * from a read-only connection: a backup changes nothing in the file, not even its schema,
 * whichever build takes it.
 */
export async function backupSqliteFile(path: string, file: string): Promise<void> {
	const db = new Sqlite(path, { readonly: true, fileMustExist: true });
	try {
		await copyDatabase(db, file);
	} finally {
		db.close();
	}
}
