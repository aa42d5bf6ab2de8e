// The benchmark's phases at one size N (scripts/bench.mjs runs them, report.mjs formats what
// they return): doorcode beside the baseline on fresh databases; then doorcode alone with the
// sweeper idle and busy, with metrics on and off, quiet and during a flood of new addresses,
// quiet and while clients change (its client cache reloading), and with a DPoP proof per poll
// against none; then both on PostgreSQL (postgres.mjs). Each figure is the median of `repeat` runs.
import { copyFileSync } from 'node:fs';
import { CLIENT, dpopKey, fmt, freePort, migrate, removeDir, sleep, startServer, tempDir } from './lib.mjs';
import { measurePostgres } from './postgres.mjs';
import { combine, median, pollOnFreshServer, run, warm } from './runs.mjs';
import { clientWriter, Database, databaseBytes, databaseFile, fill } from './sqlite.mjs';

/** @import { Kind } from './lib.mjs' */
/** @import { Bench, Figure, Run } from './runs.mjs' */

/**
 * @typedef {object} ServerFigures
 * @property {Figure} poll
 * @property {Figure} create
 * @property {number} pollRss peak RSS (VmHWM) after the poll runs, in MB
 * @property {number} createRss peak RSS after the poll and creation runs, in MB
 * @property {number} bytesPerCode the database's growth per pending code
 */
/**
 * @typedef {object} PostgresFigures
 * @property {{ poll: Figure, create: Figure }} ours doorcode with DATABASE_URL
 * @property {{ poll: Figure, create: Figure }} base the node:http + pg baseline
 * @property {Figure} twoInstances two doorcode instances on one database
 * @property {number} transactionsPerPoll database transactions per pending poll
 * @property {DpopFigures} dpop plain polls against DPoP polls, on doorcode's database
 */
/**
 * Polls without a key against polls each with a new DPoP proof (RFC 9449) on codes bound to its key.
 * @typedef {object} DpopFigures
 * @property {Figure} plain
 * @property {Figure} dpop
 * @property {number} [transactionsPerPoll] PostgreSQL: database transactions per DPoP poll
 */
/**
 * Everything measured at one size N.
 * @typedef {object} SizeResult
 * @property {ServerFigures} ours doorcode
 * @property {ServerFigures} base the baseline
 * @property {{ idle: { poll: Figure }, sweeping: { poll: Figure, expiredLeft: number } }} sweep
 * @property {{ on: Figure, off: Figure }} metrics
 * @property {{ quiet: Figure, flooded: Figure, floodRate: number, floodAddresses: number }} flood
 * @property {ClientCacheFigures} clients
 * @property {DpopFigures} dpop
 * @property {PostgresFigures | null} postgres null when not measured
 */

/**
 * The client cache: polls quiet and while a client is added every CLIENT_CHANGE_MS (each server
 * reloading its clients once a second), and how long a new client took to serve codes.
 * @typedef {object} ClientCacheFigures
 * @property {Figure} quiet
 * @property {Figure} changing
 * @property {number} clientsStored clients in the database when the runs began
 * @property {number[]} servedAfterMs each new client's wait from its insert to its first code, in ms
 */

/** PostgreSQL is measured up to this many codes: a million rows take minutes to load for little news. */
export const POSTGRES_MAX_N = 100_000;
const DAY_MS = 86_400_000;

/**
 * Every phase at one size N, in turn.
 * @param {Bench} bench
 * @param {number} n
 * @returns {Promise<SizeResult>}
 */
export async function measureSize(bench, n) {
	const { doorcode: ours, baseline: base } = await measurePair(bench, n);
	const sweep = await measureSweep(bench, n);
	const metrics = await measureMetricsCost(bench, n);
	const flood = await measureFlood(bench, n);
	const clients = await measureClientCache(bench, n);
	const dpop = await measureDpop(bench, n);
	const postgres = bench.postgres && n <= POSTGRES_MAX_N ? await measurePostgresFigures(bench, n) : null;
	return { ours, base, sweep, metrics, flood, clients, dpop, postgres };
}

/**
 * Both servers at one size, each on its own fresh database of N pending codes, both up at once
 * (the one not under load is idle): poll runs alternate doorcode/baseline `repeat` times, then
 * creation runs the same way, so a disturbance on a shared machine hits both alike.
 * @param {Bench} bench
 * @param {number} n
 * @returns {Promise<Record<Kind, ServerFigures>>}
 */
async function measurePair(bench, n) {
	const { appDir, devIdp, repeat, duration, say } = bench;
	/** @param {Kind} kind */
	const prepare = async (kind) => {
		const dir = tempDir(`doorcode-bench-${kind}-`);
		const options = { appDir, dir, port: await freePort(), devIdp };
		await migrate(kind, options);
		const emptyBytes = databaseBytes(kind, dir);
		say(`${kind}: inserting ${fmt(n)} pending codes`);
		fill(kind, dir, 0, n, Date.now() + DAY_MS);
		const bytesPerCode = (databaseBytes(kind, dir) - emptyBytes) / n;
		/** @type {{ poll: Run[], create: Run[] }} */
		const runs = { poll: [], create: [] };
		return { dir, port: options.port, bytesPerCode, server: startServer(kind, options), ...runs, pollRss: 0, createRss: 0 };
	};
	const servers = { doorcode: await prepare('doorcode'), baseline: await prepare('baseline') };
	await Promise.all(Object.values(servers).map((s) => s.server.ready));
	/** @param {Kind} kind @param {string} path */
	const url = (kind, path) => `http://127.0.0.1:${servers[kind].port}${kind === 'doorcode' ? '/oauth' : ''}${path}`;
	/** @type {[Kind, Kind][]} */
	const orders = [
		['doorcode', 'baseline'],
		['baseline', 'doorcode']
	];

	say(`poll load, N = ${fmt(n)}: ${repeat} × ${duration} s each, alternating`);
	for (const kind of orders[0]) await warm(bench, url(kind, '/token'), { mode: 'poll', codes: n });
	for (let r = 0; r < repeat; r++)
		for (const kind of orders[r % 2]) servers[kind].poll.push(await run(bench, url(kind, '/token'), { mode: 'poll', codes: n }, kind, servers[kind].dir));
	for (const s of Object.values(servers)) s.pollRss = s.server.peakRssMb();

	say(`creation load: ${repeat} × ${duration} s each, alternating`);
	for (const kind of orders[0]) await warm(bench, url(kind, '/device_authorization'), { mode: 'create' });
	for (let r = 0; r < repeat; r++)
		for (const kind of orders[r % 2])
			servers[kind].create.push(await run(bench, url(kind, '/device_authorization'), { mode: 'create' }, kind, servers[kind].dir));
	for (const s of Object.values(servers)) s.createRss = s.server.peakRssMb();

	/** @param {typeof servers.doorcode} s @returns {Promise<ServerFigures>} */
	const finish = async (s) => {
		await s.server.stop();
		removeDir(s.dir);
		return { poll: combine(s.poll), create: combine(s.create), pollRss: s.pollRss, createRss: s.createRss, bytesPerCode: s.bytesPerCode };
	};
	return { doorcode: await finish(servers.doorcode), baseline: await finish(servers.baseline) };
}

/**
 * doorcode's poll rate on N live + N expired rows, on two identical copies of one database:
 * sweeper idle (SWEEP_INTERVAL=86400) vs SWEEP_INTERVAL=1. Both servers are started afresh
 * for each of their runs and warmed the same way, so neither has a warmer cache or JIT than
 * the other; only one is up at a time, as a sweeper would otherwise take CPU 0 from the other.
 * @param {Bench} bench
 * @param {number} n
 * @returns {Promise<SizeResult['sweep']>}
 */
async function measureSweep(bench, n) {
	const { appDir, devIdp, repeat, duration, say } = bench;
	const idleDir = tempDir('doorcode-bench-sweep-idle-');
	const sweepDir = tempDir('doorcode-bench-sweep-on-');
	const port = await freePort();
	await migrate('doorcode', { appDir, dir: idleDir, port, devIdp });
	say(`doorcode: inserting ${fmt(n)} live and ${fmt(n)} expired codes`);
	// Expired codes first, as in life: a code expires DEVICE_CODE_TTL after it was made, so the oldest go first.
	fill('doorcode', idleDir, n, n, Date.now() - 60_000);
	fill('doorcode', idleDir, 0, n, Date.now() + DAY_MS);
	copyFileSync(databaseFile('doorcode', idleDir), databaseFile('doorcode', sweepDir));

	say(`doorcode: poll load on ${fmt(2 * n)} rows, sweeper idle vs SWEEP_INTERVAL=1: ${repeat} × ${duration} s each, alternating`);
	const idle = [];
	const sweeping = [];
	for (let r = 0; r < repeat; r++) {
		// The warm-up also covers the first sweep's start.
		idle.push(await pollOnFreshServer(bench, { mode: 'poll', codes: n }, idleDir, port, { SWEEP_INTERVAL: '86400' }));
		sweeping.push(await pollOnFreshServer(bench, { mode: 'poll', codes: n }, sweepDir, port, { SWEEP_INTERVAL: '1' }));
	}
	const db = new Database(databaseFile('doorcode', sweepDir), { readonly: true });
	const left = /** @type {{ n: number }} */ (db.prepare('SELECT count(*) AS n FROM device_authorizations WHERE expires_at <= ?').get(Date.now()));
	db.close();
	removeDir(idleDir);
	removeDir(sweepDir);
	return { idle: { poll: combine(idle) }, sweeping: { poll: combine(sweeping), expiredLeft: left.n } };
}

/**
 * What counting costs the hot path: doorcode's poll rate on one database of N codes with
 * METRICS=on and METRICS=off, each run on a freshly started server, alternating.
 * @param {Bench} bench
 * @param {number} n
 * @returns {Promise<SizeResult['metrics']>}
 */
async function measureMetricsCost(bench, n) {
	const dir = tempDir('doorcode-bench-metrics-');
	const port = await freePort();
	await migrate('doorcode', { appDir: bench.appDir, dir, port, devIdp: bench.devIdp });
	fill('doorcode', dir, 0, n, Date.now() + DAY_MS);
	bench.say(`doorcode: poll load with METRICS=on vs off: ${bench.repeat} × ${bench.duration} s each, alternating`);
	const on = [];
	const off = [];
	for (let r = 0; r < bench.repeat; r++) {
		on.push(await pollOnFreshServer(bench, { mode: 'poll', codes: n }, dir, port, { METRICS: 'on' }));
		off.push(await pollOnFreshServer(bench, { mode: 'poll', codes: n }, dir, port, { METRICS: 'off' }));
	}
	removeDir(dir);
	return { on: combine(on), off: combine(off) };
}

/**
 * What a DPoP proof per poll costs (RFC 9449): doorcode's poll rate on N codes made without a
 * key against N codes bound to one key, each poll with a new proof by it (the load generator
 * signs them before the run), on one database, each run on a freshly started server,
 * alternating. Both loads come from autocannon, whose process signs the proofs.
 * @param {Bench} bench
 * @param {number} n
 * @returns {Promise<DpopFigures>}
 */
async function measureDpop(bench, n) {
	const dir = tempDir('doorcode-bench-dpop-');
	const port = await freePort();
	await migrate('doorcode', { appDir: bench.appDir, dir, port, devIdp: bench.devIdp });
	const key = await dpopKey();
	fill('doorcode', dir, 0, n, Date.now() + DAY_MS);
	fill('doorcode', dir, n, n, Date.now() + DAY_MS, key.jkt);
	/** @type {Bench} */
	const withAutocannon = { ...bench, generator: 'autocannon' };
	bench.say(`doorcode: poll load without a key vs a DPoP proof per poll: ${bench.repeat} × ${bench.duration} s each, alternating`);
	const plain = [];
	const dpop = [];
	for (let r = 0; r < bench.repeat; r++) {
		plain.push(await pollOnFreshServer(withAutocannon, { mode: 'poll', codes: n }, dir, port, {}));
		dpop.push(await pollOnFreshServer(withAutocannon, { mode: 'dpop', codes: n, first: n, dpopKey: key.jwk }, dir, port, {}));
	}
	removeDir(dir);
	return { plain: combine(plain), dpop: combine(dpop) };
}

/**
 * The poll rate of normal clients while a flood of new addresses hits the rate limits (on, with
 * ceilings far above both loads so nothing is refused), against the same server without the flood.
 * @param {Bench} bench
 * @param {number} n
 * @returns {Promise<SizeResult['flood']>}
 */
async function measureFlood(bench, n) {
	const dir = tempDir('doorcode-bench-flood-');
	const port = await freePort();
	await migrate('doorcode', { appDir: bench.appDir, dir, port, devIdp: bench.devIdp });
	fill('doorcode', dir, 0, n, Date.now() + DAY_MS);
	const env = { RATE_LIMITS: 'on', TRUST_PROXY: '1', RATE_LIMIT_TOKEN: '1000000000/60' };
	bench.say(`doorcode: poll load with rate limits on, quiet vs a flood of new addresses: ${bench.repeat} × ${bench.duration} s each, alternating`);
	const quiet = [];
	const flooded = [];
	/** @type {{ addresses: number, perSecond: number }[]} */
	const floods = [];
	for (let r = 0; r < bench.repeat; r++) {
		quiet.push(await pollOnFreshServer(bench, { mode: 'poll', codes: n }, dir, port, env));
		flooded.push(
			await pollOnFreshServer(bench, { mode: 'poll', codes: n }, dir, port, env, async (origin, signal) => {
				floods.push(await floodOfAddresses(origin, signal));
			})
		);
	}
	removeDir(dir);
	return {
		quiet: combine(quiet),
		flooded: combine(flooded),
		floodRate: median(floods.map((f) => f.perSecond)),
		floodAddresses: median(floods.map((f) => f.addresses))
	};
}

/**
 * A flood of token requests, each from a new address (its own IPv6 /64, named by
 * X-Forwarded-For to the loopback server), with FLOOD_CONCURRENCY in flight: every one
 * makes a new rate-limit key. Resolves to the addresses used and the requests answered per second.
 */
const FLOOD_CONCURRENCY = 8;
/** @param {string} origin @param {AbortSignal} signal */
async function floodOfAddresses(origin, signal) {
	let sent = 0;
	const startedAt = performance.now();
	const worker = async () => {
		while (!signal.aborted) {
			const i = sent++;
			await fetch(`${origin}/oauth/token`, {
				method: 'POST',
				headers: {
					'Content-Type': 'application/x-www-form-urlencoded',
					'X-Forwarded-For': `2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`
				},
				body: `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=${CLIENT}&device_code=flood-${i}`
			})
				.then((response) => response.arrayBuffer())
				.catch(() => {});
		}
	};
	await Promise.all(Array.from({ length: FLOOD_CONCURRENCY }, worker));
	return { addresses: sent, perSecond: sent / ((performance.now() - startedAt) / 1000) };
}

/** Clients in the database before the client cache's runs: more than a deployment is likely to have. */
const CLIENTS_STORED = 500;
/** How often a client is added during the runs that change them. */
const CLIENT_CHANGE_MS = 100;
/** New clients timed from their insert to their first code. */
const CLIENTS_TIMED = 5;

/**
 * What following the clients costs polls, and how soon a change is seen: doorcode on N codes and
 * CLIENTS_STORED clients, poll runs on fresh servers quiet and while another process adds a
 * client every CLIENT_CHANGE_MS (so every check of the version finds it moved and reloads every
 * client), alternating; then CLIENTS_TIMED new clients, each timed from its insert until
 * POST /oauth/device_authorization with it answers 200 (SPEC: within 2 seconds).
 * @param {Bench} bench
 * @param {number} n
 * @returns {Promise<ClientCacheFigures>}
 */
async function measureClientCache(bench, n) {
	const dir = tempDir('doorcode-bench-clients-');
	const port = await freePort();
	await migrate('doorcode', { appDir: bench.appDir, dir, port, devIdp: bench.devIdp });
	fill('doorcode', dir, 0, n, Date.now() + DAY_MS);
	const writer = clientWriter(dir);
	for (let i = 0; i < CLIENTS_STORED; i++) writer.add(`stored-${i}`);
	bench.say(
		`doorcode: poll load with ${fmt(CLIENTS_STORED)} clients, quiet vs a client added every ${CLIENT_CHANGE_MS} ms: ${bench.repeat} × ${bench.duration} s each, alternating`
	);
	const quiet = [];
	const changing = [];
	let added = 0;
	for (let r = 0; r < bench.repeat; r++) {
		quiet.push(await pollOnFreshServer(bench, { mode: 'poll', codes: n }, dir, port, {}));
		changing.push(
			await pollOnFreshServer(bench, { mode: 'poll', codes: n }, dir, port, {}, async (_origin, signal) => {
				while (!signal.aborted) {
					writer.add(`added-${added++}`);
					await sleep(CLIENT_CHANGE_MS);
				}
			})
		);
	}
	const server = startServer('doorcode', { appDir: bench.appDir, dir, port, devIdp: bench.devIdp });
	await server.ready;
	/** @type {number[]} */
	const servedAfterMs = [];
	for (let i = 0; i < CLIENTS_TIMED; i++) {
		const id = `timed-${i}`;
		const started = performance.now();
		writer.add(id);
		while (
			(await fetch(`http://127.0.0.1:${port}/oauth/device_authorization`, { method: 'POST', body: new URLSearchParams({ client_id: id }) })).status !== 200
		)
			await sleep(10);
		servedAfterMs.push(performance.now() - started);
		// Not in step with the server's checks: the next insert lands at another point of its second.
		await sleep(300 + 137 * i);
	}
	await server.stop();
	writer.close();
	removeDir(dir);
	return { quiet: combine(quiet), changing: combine(changing), clientsStored: CLIENTS_STORED, servedAfterMs };
}

/**
 * PostgreSQL beside its baseline at one size (postgres.mjs), the runs combined.
 * @param {Bench} bench
 * @param {number} n
 * @returns {Promise<PostgresFigures>}
 */
async function measurePostgresFigures(bench, n) {
	const { appDir, duration, connections, generator, repeat, devIdp, say } = bench;
	const dir = tempDir('doorcode-bench-postgres-');
	const measured = await measurePostgres({ appDir, dir, n, duration, connections, generator, repeat, devIdp, say, dpop: await dpopKey() });
	removeDir(dir);
	return {
		ours: { poll: combine(measured.doorcode.poll), create: combine(measured.doorcode.create) },
		base: { poll: combine(measured.baseline.poll), create: combine(measured.baseline.create) },
		twoInstances: combine(measured.twoInstances),
		transactionsPerPoll: measured.transactionsPerPoll,
		dpop: { plain: combine(measured.dpop.plain), dpop: combine(measured.dpop.dpop), transactionsPerPoll: measured.dpop.transactionsPerPoll }
	};
}
