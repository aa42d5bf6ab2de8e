// npm run bench: doorcode's two hot paths measured side by side with the bare
// node:http + better-sqlite3 baseline (scripts/bench/baseline.mjs, the repository's own), on loopback.
// Servers run pinned to CPU 0 and the load generator to CPU 1 when taskset exists.
// Load comes from wrk when installed (apt-get install wrk), else autocannon. Every run
// has a fixed duration and connection count; every child process is killed at the end.
//
//   node scripts/bench.mjs [--sizes 1000,100000,1000000] [--duration 10] [--connections 50] [--repeat 3]
//                          [--quick] [--write] [--truncate-wal] [--no-postgres] [--no-build] [--dev-idp]
//                          [--load wrk|autocannon]
//
// --quick       sizes 200, 2-second runs, no repeats: a smoke test (well under a minute)
// --repeat K    K measured runs per figure (default 3), doorcode and baseline alternating; medians reported
// --write       also writes the tables into docs/performance.md, between its two markers (bench/write-page.mjs)
// --truncate-wal  checkpoint and truncate the WAL before every run (default: leave it as a running server would)
// --no-postgres   skip the PostgreSQL rows (doorcode with DATABASE_URL beside a node:http + pg baseline, at N ≤ 100,000)
// --no-build    never build; fail when build/ is missing (default: build once when missing)
// --dev-idp     DEV_IDP=1 instead of ORCID configured (never contacted) as in production: the
//               development identity provider then runs inside the server's process. With it there,
//               a burst of polls at start-up left Node's process.nextTick on V8's slow path for
//               the life of the process (docs/performance.md), so it is not the default
//
// For each N, each server gets a fresh database with N pending codes inserted straight into
// its SQLite file (hashed exactly as the server hashes them); both servers run at once (the
// one not under load is idle) and take turns: poll runs cycling round-robin through the N
// codes, then creation runs (which add rows), peak RSS (VmHWM) after each phase, and the
// database's bytes per pending code. doorcode alone also gets N live plus N expired rows and
// poll runs on identical copies of that database: sweeper idle vs SWEEP_INTERVAL=1; poll runs
// with METRICS=on vs off; and poll runs with rate limits on, quiet vs during a flood of new
// addresses. Each phase starts with an unrecorded warm-up; the WAL is left as the previous
// phase left it, as on a running server, unless --truncate-wal empties it before every run.
//
// This file reads the flags and measures each size in turn (bench/phases.mjs, bench/runs.mjs,
// bench/postgres.mjs); bench/report.mjs turns the results into the tables, the targets and the
// smoke verdict (exit status 1 on a dropped connection or a wrong answer), and writes the page.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { ensureBuild, snapshotBuild } from './bench/lib.mjs';
import { hasWrk, isGenerator } from './bench/load.mjs';
import { measureSize } from './bench/phases.mjs';
import { describeSetup, report } from './bench/report.mjs';

/** @import { Settings } from './bench/runs.mjs' */
/** @import { Results } from './bench/report.mjs' */

const { values } = parseArgs({
	options: {
		sizes: { type: 'string', default: '1000,100000,1000000' },
		duration: { type: 'string', default: '10' },
		connections: { type: 'string', default: '50' },
		repeat: { type: 'string' },
		quick: { type: 'boolean', default: false },
		write: { type: 'boolean', default: false },
		'no-build': { type: 'boolean', default: false },
		'dev-idp': { type: 'boolean', default: false },
		'truncate-wal': { type: 'boolean', default: false },
		'no-postgres': { type: 'boolean', default: false },
		load: { type: 'string', default: hasWrk ? 'wrk' : 'autocannon' }
	}
});
const duration = values.quick ? 2 : Number(values.duration);
const generator = values.load;
/** @type {Omit<Settings, 'generator'>} */
const given = {
	sizes: (values.quick ? '200' : values.sizes).split(',').map((s) => Number(s.trim())),
	duration,
	warmup: values.quick ? 1 : Math.max(1, Math.round(duration / 5)),
	connections: Number(values.connections),
	repeat: Number(values.repeat ?? (values.quick ? 1 : 3)),
	devIdp: values['dev-idp'],
	truncateWal: values['truncate-wal'],
	postgres: !values['no-postgres']
};
if (
	given.sizes.some((n) => !Number.isInteger(n) || n < 1) ||
	!(given.duration >= 1) ||
	!(given.connections >= 1) ||
	!(given.repeat >= 1) ||
	!isGenerator(generator)
) {
	console.error(
		'usage: node scripts/bench.mjs [--sizes 1000,100000] [--duration 10] [--connections 50] [--repeat 3] [--quick] [--write] [--truncate-wal] [--no-postgres] [--no-build] [--dev-idp] [--load wrk|autocannon]'
	);
	process.exit(2);
}
if (generator === 'wrk' && !hasWrk) {
	console.error('bench: wrk is not installed (apt-get install wrk), use --load autocannon');
	process.exit(2);
}
/** @type {Settings} */
const settings = { ...given, generator };

const started = Date.now();
/** CPUs kept busy by other processes right now: 1 s of /proc/stat (0 = idle machine). */
async function busyCpus() {
	const read = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
	const a = read();
	await new Promise((r) => setTimeout(r, 1000));
	const b = read();
	const delta = b.map((x, i) => x - a[i]);
	const total = delta.reduce((x, y) => x + y, 0);
	const idle = delta[3] + delta[4];
	return Math.round(((total - idle) / total) * cpus().length * 100) / 100;
}
const busyAtStart = await busyCpus();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
/** @param {string} line */
const say = (line) => console.error(`bench [${elapsed()}]: ${line}`);

ensureBuild({ build: !values['no-build'] });
const appDir = snapshotBuild();
say(describeSetup(settings));
if (busyAtStart > 0.2) say(`warning: other processes keep ${busyAtStart} CPUs busy before any load: they will disturb the numbers`);

/** @type {Results} */
const results = new Map();
for (const n of settings.sizes) results.set(n, await measureSize({ ...settings, appDir, say }, n));

const busyAtEnd = await busyCpus();
const machine = {
	date: new Date().toISOString().slice(0, 10),
	node: process.versions.node,
	cpu: cpus()[0]?.model?.trim() ?? 'unknown CPU',
	cpuCount: cpus().length,
	busyAtStart,
	busyAtEnd
};
const commandLine = values.write ? ['npm run bench --', ...process.argv.slice(2)].join(' ') : null;
await report({ results, settings, machine, commandLine, say });
say('done');
