import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/**
 * A real PostgreSQL server for the tests: DOORCODE_TEST_DATABASE_URL when given, else a
 * throwaway one started by tests/support/postgres-server.mjs in a child process.
 */

const SCRIPT = fileURLToPath(new URL('./postgres-server.mjs', import.meta.url));

export interface PostgresServer {
	/** postgres://… of a database any test may create others from. */
	url: string;
	/** Where the cluster keeps its data (only for a server these tests started). */
	dataDir: string | null;
	stop(): Promise<void>;
}

/** Starts a throwaway server (or the one at DATA_DIR again) and waits until it accepts connections. */
export function startPostgres(dataDir?: string, port?: number): Promise<PostgresServer> {
	const child: ChildProcess = spawn(process.execPath, [SCRIPT, ...(dataDir ? [dataDir] : [])], {
		env: { ...process.env, ...(port ? { DOORCODE_TEST_POSTGRES_PORT: String(port) } : {}) },
		stdio: ['pipe', 'pipe', 'pipe']
	});
	let output = '';
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`PostgreSQL did not start within 60 s:\n${output}`)), 60_000);
		child.stderr?.on('data', (chunk) => (output += chunk));
		child.stdout?.on('data', (chunk) => {
			output += chunk;
			const line = output.split('\n').find((text) => text.startsWith('{'));
			if (!line) return;
			clearTimeout(timer);
			const started = JSON.parse(line) as { url: string; dataDir: string };
			resolve({
				url: started.url,
				dataDir: started.dataDir,
				stop: () =>
					new Promise<void>((done) => {
						if (child.exitCode !== null) return done();
						child.once('exit', () => done());
						child.kill('SIGTERM');
					})
			});
		});
		child.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`PostgreSQL exited (${code}) before it was ready:\n${output}`));
		});
	});
}

/** The server the whole run shares. */
export async function sharedPostgres(): Promise<PostgresServer> {
	const given = process.env.DOORCODE_TEST_DATABASE_URL;
	if (given) return { url: given, dataDir: null, stop: async () => {} };
	return startPostgres();
}

/** A new empty database on that server, for one test file or one set of instances. */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
	const admin = new pg.Client({ connectionString: serverUrl });
	await admin.connect();
	try {
		const database = `doorcode_${name.replace(/[^a-z0-9_]/g, '_')}_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
		await admin.query(`CREATE DATABASE ${database}`);
		const url = new URL(serverUrl);
		url.pathname = `/${database}`;
		return url.toString();
	} finally {
		await admin.end();
	}
}

/**
 * A database for one test file, handed out empty to each test: made once (the first store
 * to open it applies the migrations), then every table but schema_migrations truncated and
 * its ids restarted, which is what a new database would be, for a fraction of the time a
 * CREATE DATABASE and the migrations take.
 */
export function emptiedDatabase(serverUrl: string, name: string): () => Promise<string> {
	let database: Promise<string> | undefined;
	return async () => {
		database ??= createDatabase(serverUrl, name);
		const url = await database;
		await withClient(url, async (client) => {
			const tables = (await tableNames(client)).filter((table) => table !== 'schema_migrations');
			if (tables.length > 0) await client.query(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY CASCADE`);
		});
		return url;
	};
}

/** Every row of every table, as PostgreSQL writes it out (BYTEA in hex). */
export function everyRow(url: string): Promise<string[]> {
	return withClient(url, async (client) => {
		const rows: string[] = [];
		for (const table of await tableNames(client)) {
			rows.push(...(await client.query<{ row: string }>(`SELECT t::text AS row FROM ${table} t`)).rows.map(({ row }) => row));
		}
		return rows;
	});
}

async function tableNames(client: pg.Client): Promise<string[]> {
	const tables = await client.query<{ name: string }>(
		`SELECT quote_ident(table_name) AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`
	);
	return tables.rows.map(({ name }) => name);
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
	const client = new pg.Client({ connectionString: url });
	await client.connect();
	try {
		return await work(client);
	} finally {
		await client.end();
	}
}
