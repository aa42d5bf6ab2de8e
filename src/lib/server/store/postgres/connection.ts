import pg from 'pg';
import { DatabaseUnavailable, type Store } from '../store';

/** Any number that fits: doorcode's BIGINTs are ids and milliseconds, far below 2^53. */
const types = {
	getTypeParser: ((oid: number, format?: string) =>
		oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser
};

/** Connections the pool keeps open per instance unless DATABASE_POOL_SIZE says otherwise. */
export const DEFAULT_POOL_SIZE = 10;

/** Migrations, and replacing the clients, run under these advisory locks: instances started together take turns. */
export const MIGRATION_LOCK = 8_628_000;
export const CLIENTS_LOCK = 8_628_001;
export const SIGNING_KEY_LOCK = 8_628_002;

/**
 * Errors that mean "the database is not there right now", not "this query is wrong":
 * no connection (Node's socket errors, pg's timeouts and dropped connections) or the
 * server refusing work while it starts, stops or recovers (SQLSTATE classes 08 and 57P).
 */
function isUnavailable(error: unknown): boolean {
	const { code, message } = error as { code?: string; message?: string };
	if (
		typeof code === 'string' &&
		(code.startsWith('08') || code.startsWith('57P') || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND'].includes(code))
	) {
		return true;
	}
	return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection closed/i.test(message ?? '');
}

/** Runs work against the database; an outage becomes DatabaseUnavailable, anything else stays as it is. */
async function reaching<T>(work: () => Promise<T>): Promise<T> {
	try {
		return await work();
	} catch (error) {
		throw isUnavailable(error) ? new DatabaseUnavailable() : error;
	}
}

/** One query; an outage becomes DatabaseUnavailable. */
export function run<T extends pg.QueryResultRow = pg.QueryResultRow>(on: pg.Pool, config: pg.QueryConfig): Promise<pg.QueryResult<T>> {
	return reaching(() => on.query<T>(config));
}

/** The pools every area of the PostgreSQL engine runs its statements on, and the ways it runs them. */
export type Connection = ReturnType<typeof openConnection>;

export function openConnection(url: string, poolSize: number) {
	const pool = new pg.Pool({ connectionString: url, max: poolSize, types, connectionTimeoutMillis: 5_000 });
	// A poll only moves its clock: losing the last few to a crash costs a CLI one extra poll,
	// so those commits do not wait for the WAL flush. Every other write does (RFC 8628 transitions).
	const clockPool = new pg.Pool({
		connectionString: url,
		max: Math.max(2, Math.ceil(poolSize / 2)),
		types,
		connectionTimeoutMillis: 5_000,
		options: '-c synchronous_commit=off'
	});
	// An idle connection the server dropped must not crash the process; the next query reconnects.
	pool.on('error', () => {});
	clockPool.on('error', () => {});

	/** One named (prepared) statement on the pool: its rows. */
	const query = async <T extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<T[]> =>
		(await run<T>(pool, { name, text, values })).rows;
	/** One named statement on the pool: its first row. */
	const one = async <T extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<T | undefined> =>
		(await query<T>(name, text, values))[0];

	/** Runs `work` in one transaction on one connection. */
	function transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
		return reaching(() => inTransaction(work));
	}

	async function inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
		const client = await pool.connect();
		try {
			await client.query('BEGIN');
			const result = await work(client);
			await client.query('COMMIT');
			return result;
		} catch (error) {
			await client.query('ROLLBACK').catch(() => {});
			throw error;
		} finally {
			client.release();
		}
	}

	return { pool, clockPool, query, one, transaction };
}

export function connection({ pool, clockPool, one }: Connection) {
	const close: Store['close'] = async () => {
		await Promise.all([pool.end(), clockPool.end()]);
	};
	const databaseTime: Store['databaseTime'] = async () =>
		(await one<{ now: number }>('databaseTime', `SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now`, []))!.now;

	return { close, databaseTime };
}
