// The benchmark's SQLite files (doorcode's and the baseline's): where they are, filling them
// with known pending codes hashed as the servers hash them, and measuring them and their WAL.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CLIENT } from './lib.mjs';

/** @import { Kind } from './lib.mjs' */

export { Database };

/** @param {string} text */
export const sha256 = (text) => createHash('sha256').update(text).digest();

/** Device code i: 43 characters of the base64url alphabet, like a real one (32 random bytes). @param {number} i */
export const deviceCode = (i) => `bench-code-${String(i).padStart(32, '0')}`;

/** User code i: 8 letters of the base-20 alphabet, distinct for every i < 20^8. @param {number} i */
export function userCode(i) {
	const alphabet = 'BCDFGHJKLMNPQRSTVWXZ';
	let code = '';
	for (let n = i, k = 0; k < 8; k++, n = Math.floor(n / 20)) code += alphabet[n % 20];
	return code;
}

/** @param {Kind} kind @param {string} dir */
export const databaseFile = (kind, dir) => join(dir, kind === 'doorcode' ? 'doorcode.db' : 'baseline.db');

/**
 * Inserts codes [from, from + count) straight into the server's SQLite file in one transaction,
 * hashed exactly as the server hashes them (SHA-256 of the device code string, as a BLOB).
 * doorcode's rows carry what a real request leaves (scope, interval, requester IP) and, given
 * one, the DPoP key's thumbprint they are bound to (RFC 9449).
 * @param {Kind} kind
 * @param {string} dir
 * @param {number} from
 * @param {number} count
 * @param {number} expiresAt in ms since the epoch
 * @param {string | null} [dpopJkt]
 */
export function fill(kind, dir, from, count, expiresAt, dpopJkt = null) {
	const db = new Database(databaseFile(kind, dir));
	db.pragma('journal_mode = WAL');
	db.pragma('synchronous = OFF');
	const now = Date.now();
	// Codes without a key leave dpop_jkt out, so a build from before it (cpu.mjs --against) can be filled too.
	const bound = dpopJkt === null ? [] : [dpopJkt];
	const insert =
		kind === 'doorcode'
			? db.prepare(
					`INSERT INTO device_authorizations (device_code_hash, user_code, client_id, scope, created_at, expires_at, interval_seconds, requester_ip, requester_user_agent${bound.length ? ', dpop_jkt' : ''})
					 VALUES (?, ?, '${CLIENT}', 'read write', ?, ?, 5, '127.0.0.1', NULL${bound.length ? ', ?' : ''})`
				)
			: db.prepare(
					`INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, status, created_at, expires_at) VALUES (?, ?, '${CLIENT}', NULL, 'pending', ?, ?)`
				);
	db.transaction(() => {
		for (let i = from; i < from + count; i++) insert.run(sha256(deviceCode(i)), userCode(i), now, expiresAt, ...(kind === 'doorcode' ? bound : []));
	})();
	db.pragma('wal_checkpoint(TRUNCATE)');
	db.close();
}

/** @param {Kind} kind @param {string} dir */
export const walBytes = (kind, dir) => {
	const wal = `${databaseFile(kind, dir)}-wal`;
	return existsSync(wal) ? statSync(wal).size : 0;
};

/**
 * Checkpoints a live server's database from outside and truncates its WAL, so every run starts
 * from the same state. The baseline needs it: its poll reads `UPDATE … RETURNING` with
 * better-sqlite3's .get(), which resets the statement before SQLite steps it to the end, and
 * only a statement stepped to its end runs the WAL auto-checkpoint, so its WAL grows by a page
 * per poll. (doorcode reads such writes with .all() and checkpoints as it goes.)
 * @param {Kind} kind
 * @param {string} dir
 */
export function truncateWal(kind, dir) {
	const db = new Database(databaseFile(kind, dir));
	db.pragma('busy_timeout = 10000');
	const [result] = /** @type {{ busy: number, log: number, checkpointed: number }[]} */ (db.pragma('wal_checkpoint(TRUNCATE)'));
	db.close();
	return result;
}

/**
 * Bytes the database takes after a checkpoint: main file plus what is left of the WAL.
 * @param {Kind} kind
 * @param {string} dir
 */
export function databaseBytes(kind, dir) {
	const file = databaseFile(kind, dir);
	const db = new Database(file);
	db.pragma('wal_checkpoint(TRUNCATE)');
	db.close();
	return statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
}

/**
 * Clients added to doorcode's file from another process, as the operator's command adds them
 * (`npm run doorcode -- clients add`): the row and the clients' version moved, in one
 * transaction. Each server reads the version every second and reloads its clients.
 * @param {string} dir
 */
export function clientWriter(dir) {
	const db = new Database(databaseFile('doorcode', dir));
	db.pragma('busy_timeout = 5000');
	const insert = db.prepare(
		`INSERT INTO clients (id, name, type, secret_sha256, settings, managed_by, disabled_at, created_at, updated_at, updated_by)
		 VALUES (?, ?, 'public', NULL, '{"scopes":["read"]}', 'admin', NULL, ?, ?, 'bench')`
	);
	const move = db.prepare(`INSERT INTO clients_version (id, version) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET version = clients_version.version + 1`);
	const add = db.transaction(
		/** @param {string} id */ (id) => {
			insert.run(id, `Bench client ${id}`, Date.now(), Date.now());
			move.run();
		}
	);
	return {
		/** @param {string} id */
		add: (id) => add.immediate(id),
		close: () => db.close()
	};
}
