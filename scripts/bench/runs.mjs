// The benchmark's runs (phases.mjs puts them together): the settings every phase reads, an
// unrecorded warm-up, a measured run that records the WAL, a poll run on a freshly started
// doorcode, and the median of repeated runs.
import { startServer } from './lib.mjs';
import { load } from './load.mjs';
import { truncateWal, walBytes } from './sqlite.mjs';

/** @import { Kind } from './lib.mjs' */
/** @import { Generator, LoadOptions, LoadResult } from './load.mjs' */

/**
 * How the benchmark runs, from the command line (scripts/bench.mjs).
 * @typedef {object} Settings
 * @property {number[]} sizes the numbers N of pending codes, measured in turn
 * @property {number} duration seconds per measured run
 * @property {number} warmup seconds of the unrecorded warm-up that starts each phase
 * @property {number} connections
 * @property {number} repeat measured runs per figure
 * @property {boolean} devIdp DEV_IDP=1, else ORCID configured (never contacted) as in production
 * @property {Generator} generator
 * @property {boolean} truncateWal checkpoint and truncate the WAL before every run
 * @property {boolean} postgres measure PostgreSQL too (at N ≤ POSTGRES_MAX_N)
 */
/** @typedef {Settings & { appDir: string, say: (line: string) => void }} Bench the settings, the build's snapshot and where progress goes */
/** @typedef {LoadResult & { walMb?: number }} Run one measured run, with the WAL's size at its end when recorded */
/** @typedef {Pick<LoadOptions, 'mode' | 'codes' | 'first' | 'dpopKey'>} Work what a run sends */
/**
 * Repeated runs combined.
 * @typedef {object} Figure
 * @property {number} rps the median rate, requests per second
 * @property {number} p50 the median of the runs' p50 latencies, in ms
 * @property {number} p99 the median of the runs' p99 latencies, in ms
 * @property {number[]} rpsRuns each run's rate
 * @property {Record<string, number>} answers summed over the runs
 * @property {number} errors connection errors and timeouts, summed
 * @property {number} walMb the largest WAL at the end of a run, in MB
 */

/** @param {number[]} xs */
export const median = (xs) => {
	const sorted = [...xs].sort((a, b) => a - b);
	const mid = sorted.length >> 1;
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Median of each figure over repeated runs; answers and errors summed; the largest WAL seen.
 * @param {Run[]} runs
 * @returns {Figure}
 */
export function combine(runs) {
	/** @type {Record<string, number>} */
	const answers = {};
	for (const run of runs) for (const [key, count] of Object.entries(run.answers)) answers[key] = (answers[key] ?? 0) + count;
	return {
		rps: median(runs.map((r) => r.rps)),
		p50: median(runs.map((r) => r.p50)),
		p99: median(runs.map((r) => r.p99)),
		rpsRuns: runs.map((r) => r.rps),
		answers,
		errors: runs.reduce((sum, r) => sum + r.errors, 0),
		walMb: Math.max(...runs.map((r) => r.walMb ?? 0))
	};
}

/**
 * The unrecorded warm-up, from the middle of the codes.
 * @param {Bench} bench
 * @param {string} url
 * @param {Work} work
 */
export const warm = (bench, url, work) =>
	load(url, { ...work, duration: bench.warmup, connections: bench.connections, generator: bench.generator, offset: Math.floor((work.codes ?? 0) / 2) });

/**
 * A measured run; records how large the WAL grew. By default the WAL is left as the
 * previous phase left it, as on a running server; --truncate-wal empties it first.
 * @param {Bench} bench
 * @param {string} url
 * @param {Work} work
 * @param {Kind} kind
 * @param {string} dir
 * @returns {Promise<Run>}
 */
export async function run(bench, url, work, kind, dir) {
	if (bench.truncateWal) truncateWal(kind, dir);
	const result = await load(url, { ...work, duration: bench.duration, connections: bench.connections, generator: bench.generator, offset: 0 });
	return { ...result, walMb: walBytes(kind, dir) / 1e6 };
}

/**
 * One measured poll run (`work`, plain or DPoP polls) on doorcode freshly started on `dir` with
 * `env`, warmed up first, then stopped. `alongside(origin, signal)`, when given, runs from
 * start-up to the end of the measured run, is stopped by the signal it gets, and is waited for.
 * @param {Bench} bench
 * @param {Work} work
 * @param {string} dir
 * @param {number} port
 * @param {Record<string, string>} env
 * @param {(origin: string, signal: AbortSignal) => Promise<void>} [alongside]
 * @returns {Promise<Run>}
 */
export async function pollOnFreshServer(bench, work, dir, port, env, alongside) {
	const url = `http://127.0.0.1:${port}/oauth/token`;
	const server = startServer('doorcode', { appDir: bench.appDir, dir, port, devIdp: bench.devIdp, env });
	await server.ready;
	const stop = new AbortController();
	const beside = alongside?.(`http://127.0.0.1:${port}`, stop.signal);
	await warm(bench, url, work);
	const result = await run(bench, url, work, 'doorcode', dir);
	stop.abort();
	await beside;
	await server.stop();
	return result;
}
