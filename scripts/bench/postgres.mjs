// The benchmark's PostgreSQL phase (scripts/bench.mjs): doorcode with DATABASE_URL beside the
// bare node:http + pg baseline (baseline-postgres.mjs) running the same statements, on a
// throwaway PostgreSQL server (tests/support/postgres-server.mjs, in a child process). It
// reports poll and creation throughput, database transactions per pending poll (one round
// trip each), the poll rate of two doorcode instances on one database against one, and
// doorcode's polls with a DPoP proof each against polls without.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { children, CLIENT, freePort, pinned, root, sleep, startServer } from './lib.mjs';
import { load } from './load.mjs';

/** @import { Kind } from './lib.mjs' */
/** @import { Generator, LoadResult, Mode } from './load.mjs' */

pg.types.setTypeParser(pg.types.builtins.INT8, Number);

/**
 * Starts PostgreSQL and answers its URL; the server stops when the benchmark's process ends.
 * @returns {Promise<{ url: string, child: import('node:child_process').ChildProcess }>}
 */
async function startPostgres() {
	const child = spawn(process.execPath, [join(root, 'tests', 'support', 'postgres-server.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
	children.add(child);
	let output = '';
	return new Promise((resolve, reject) => {
		child.stdout.on('data', (chunk) => {
			output += chunk;
			const line = output.split('\n').find((text) => text.startsWith('{'));
			if (line) resolve({ url: JSON.parse(line).url, child });
		});
		child.once('exit', (code) => reject(new Error(`PostgreSQL exited (${code}) before it was ready`)));
	});
}

/** @param {string} serverUrl @param {string} name @returns {Promise<string>} the new database's URL */
async function createDatabase(serverUrl, name) {
	const admin = new pg.Client({ connectionString: serverUrl });
	await admin.connect();
	await admin.query(`CREATE DATABASE ${name}`);
	await admin.end();
	const url = new URL(serverUrl);
	url.pathname = `/${name}`;
	return url.toString();
}

/**
 * N pending codes straight into a database with doorcode's schema, hashed as doorcode hashes them,
 * codes [0, N); with a DPoP key's thumbprint, N more, [N, 2N), bound to that key.
 * @param {string} url
 * @param {number} n
 * @param {string | null} [dpopJkt]
 */
async function fillPostgres(url, n, dpopJkt = null) {
	const db = new pg.Client({ connectionString: url });
	await db.connect();
	const insert = (/** @type {number} */ from, /** @type {string | null} */ jkt) =>
		db.query(
			`INSERT INTO device_authorizations (device_code_hash, user_code, client_id, scope, created_at, expires_at, interval_seconds, requester_ip, dpop_jkt)
			 SELECT sha256(convert_to('bench-code-' || lpad(i::text, 32, '0'), 'UTF8')), 'N' || lpad(i::text, 7, '0'), $1, 'read write', $2, $3, 5, '127.0.0.1', $6
			 FROM generate_series($4::int, $4::int + $5 - 1) i`,
			[CLIENT, Date.now(), Date.now() + 86_400_000, from, n, jkt]
		);
	await insert(0, null);
	if (dpopJkt !== null) await insert(n, dpopJkt);
	await db.query('VACUUM ANALYZE device_authorizations');
	await db.end();
}

/** Transactions committed in the database so far. @param {string} url @returns {Promise<number>} */
async function committed(url) {
	const db = new pg.Client({ connectionString: url });
	await db.connect();
	// The cumulative statistics are flushed about once a second.
	await sleep(1_500);
	const { rows } = await db.query(`SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`);
	await db.end();
	return rows[0].xact_commit;
}

/** @param {number} port @param {string} databaseUrl */
function startBaseline(port, databaseUrl) {
	const [command, args] = pinned(0, process.execPath, [join(root, 'scripts', 'bench', 'baseline-postgres.mjs')]);
	const child = spawn(command, args, { cwd: root, stdio: 'ignore', env: { ...process.env, PORT: String(port), DATABASE_URL: databaseUrl, CLIENT_ID: CLIENT } });
	children.add(child);
	const ready = (async () => {
		for (let i = 0; i < 300; i++) {
			try {
				await fetch(`http://127.0.0.1:${port}/token`, { method: 'POST' });
				return;
			} catch {
				await sleep(100);
			}
		}
		throw new Error('the PostgreSQL baseline did not start');
	})();
	return { ready, stop: () => child.kill('SIGTERM') };
}

/**
 * @typedef {object} PostgresRuns
 * @property {{ poll: LoadResult[], create: LoadResult[] }} doorcode
 * @property {{ poll: LoadResult[], create: LoadResult[] }} baseline
 * @property {LoadResult[]} twoInstances each run's two instances taken together
 * @property {number} transactionsPerPoll database transactions per poll in doorcode's last poll run
 * @property {{ plain: LoadResult[], dpop: LoadResult[], transactionsPerPoll: number }} dpop polls without a key
 *   against a DPoP proof per poll, both from autocannon; database transactions per DPoP poll in the last run
 */

/**
 * One size N: doorcode and the baseline each on their own database of N pending codes,
 * runs alternating; then a second doorcode instance on doorcode's database.
 * @param {object} options
 * @param {string} options.appDir
 * @param {string} options.dir
 * @param {number} options.n
 * @param {number} options.duration
 * @param {number} options.connections
 * @param {Generator} options.generator
 * @param {number} options.repeat
 * @param {boolean} options.devIdp
 * @param {(line: string) => void} options.say
 * @param {{ jwk: import('jose').JWK, jkt: string }} options.dpop the key the DPoP runs' codes are bound to
 * @returns {Promise<PostgresRuns>}
 */
export async function measurePostgres({ appDir, dir, n, duration, connections, generator, repeat, devIdp, say, dpop }) {
	say(`PostgreSQL: starting a throwaway server`);
	const postgres = await startPostgres();
	const urls = { doorcode: await createDatabase(postgres.url, 'bench_doorcode'), baseline: await createDatabase(postgres.url, 'bench_baseline') };
	const ports = { doorcode: await freePort(), baseline: await freePort(), second: await freePort() };
	// doorcode makes its schema on both databases; the baseline uses doorcode's own tables.
	const schema = startServer('doorcode', { appDir, dir, port: ports.baseline, devIdp, env: { DATABASE_URL: urls.baseline } });
	await schema.ready;
	await schema.stop();
	const doorcode = startServer('doorcode', { appDir, dir, port: ports.doorcode, devIdp, env: { DATABASE_URL: urls.doorcode } });
	await doorcode.ready;
	say(`PostgreSQL: inserting ${n} pending codes into each database`);
	await fillPostgres(urls.doorcode, n, dpop.jkt);
	await fillPostgres(urls.baseline, n);
	const baseline = startBaseline(ports.baseline, urls.baseline);
	await baseline.ready;

	/** @type {Record<Kind, (path: string) => string>} */
	const url = { doorcode: (path) => `http://127.0.0.1:${ports.doorcode}/oauth${path}`, baseline: (path) => `http://127.0.0.1:${ports.baseline}${path}` };
	/** @type {Record<Kind, { poll: LoadResult[], create: LoadResult[] }>} */
	const measured = { doorcode: { poll: [], create: [] }, baseline: { poll: [], create: [] } };
	/** @type {[Kind, Kind][]} */
	const orders = [
		['doorcode', 'baseline'],
		['baseline', 'doorcode']
	];
	/** @param {string} target @param {Mode} mode */
	const run = (target, mode, share = connections, offset = 0) => load(target, { mode, codes: n, offset, duration, connections: share, generator });

	say(`PostgreSQL: poll load, N = ${n}: ${repeat} × ${duration} s each, alternating`);
	let transactionsPerPoll = 0;
	for (let r = 0; r < repeat; r++) {
		for (const kind of orders[r % 2]) {
			const before = kind === 'doorcode' ? await committed(urls.doorcode) : 0;
			const result = await run(url[kind]('/token'), 'poll');
			measured[kind].poll.push(result);
			if (kind === 'doorcode') transactionsPerPoll = ((await committed(urls.doorcode)) - before) / result.requests;
		}
	}
	say(`PostgreSQL: creation load: ${repeat} × ${duration} s each, alternating`);
	for (let r = 0; r < repeat; r++) for (const kind of orders[r % 2]) measured[kind].create.push(await run(url[kind]('/device_authorization'), 'create'));

	say(`PostgreSQL: poll load without a key vs a DPoP proof per poll: ${repeat} × ${duration} s each, alternating`);
	/** @type {PostgresRuns['dpop']} */
	const dpopRuns = { plain: [], dpop: [], transactionsPerPoll: 0 };
	for (let r = 0; r < repeat; r++) {
		dpopRuns.plain.push(await load(url.doorcode('/token'), { mode: 'poll', codes: n, duration, connections, generator: 'autocannon' }));
		const before = await committed(urls.doorcode);
		const result = await load(url.doorcode('/token'), { mode: 'dpop', codes: n, first: n, dpopKey: dpop.jwk, duration, connections });
		dpopRuns.dpop.push(result);
		dpopRuns.transactionsPerPoll = ((await committed(urls.doorcode)) - before) / result.requests;
	}

	say(`PostgreSQL: two doorcode instances on one database, half the connections each`);
	const second = startServer('doorcode', { appDir, dir, port: ports.second, devIdp, env: { DATABASE_URL: urls.doorcode } });
	await second.ready;
	/** @type {LoadResult[]} */
	const pairs = [];
	for (let r = 0; r < repeat; r++) {
		const half = Math.max(1, Math.floor(connections / 2));
		const [a, b] = await Promise.all([
			run(url.doorcode('/token'), 'poll', half, 0),
			run(`http://127.0.0.1:${ports.second}/oauth/token`, 'poll', half, Math.floor(n / 2))
		]);
		/** @type {Record<string, number>} */
		const answers = { ...a.answers };
		for (const [key, count] of Object.entries(b.answers)) answers[key] = (answers[key] ?? 0) + count;
		// Both instances' figures: the percentiles are the larger of the two (the p99 of both together is no larger).
		pairs.push({
			requests: a.requests + b.requests,
			rps: a.rps + b.rps,
			p50: Math.max(a.p50, b.p50),
			p99: Math.max(a.p99, b.p99),
			errors: a.errors + b.errors,
			answers
		});
	}

	await Promise.all([doorcode.stop(), second.stop()]);
	baseline.stop();
	postgres.child.kill('SIGTERM');
	return { ...measured, twoInstances: pairs, transactionsPerPoll, dpop: dpopRuns };
}
