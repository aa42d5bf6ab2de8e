// CPU time per waiting poll, read from /proc: doorcode and the bare baseline (and, with --against,
// doorcode built from another checkout) each on a database of N pending codes, taking turns at
// the same poll load for --rounds rounds. Throughput on a shared machine moves with whatever
// else runs; the CPU a server spent per answered poll moves much less, so this is the figure
// to compare two revisions with (docs/performance.md, "Where the time goes").
//
//   node scripts/bench/cpu.mjs [--n 100000] [--duration 8] [--rounds 3] [--connections 50]
//                              [--against /path/to/other/checkout] [--dev-idp] [--load wrk|autocannon]
//
// --against  another checkout of doorcode, built (`npm run build`) with its own node_modules
// --dev-idp  DEV_IDP=1 instead of ORCID configured as in production (see bench.mjs)
//
// Every code's interval is 1 s, shorter than a cycle through them, so every poll is a waiting
// poll answered authorization_pending, never a slow_down (which writes): N must be more polls
// than a server answers in a second (at 20,000 polls/s, N > 20,000).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBuild, fmt, freePort, migrate, snapshotBuild, startServer, tempDir } from './lib.mjs';
import { hasWrk, isGenerator, load } from './load.mjs';
import { median } from './runs.mjs';
import { Database, databaseFile, fill } from './sqlite.mjs';

const { values } = parseArgs({
	options: {
		n: { type: 'string', default: '100000' },
		duration: { type: 'string', default: '8' },
		rounds: { type: 'string', default: '3' },
		connections: { type: 'string', default: '50' },
		against: { type: 'string' },
		'dev-idp': { type: 'boolean', default: false },
		load: { type: 'string', default: hasWrk ? 'wrk' : 'autocannon' }
	}
});
const [n, duration, rounds, connections] = [values.n, values.duration, values.rounds, values.connections].map(Number);
if (![n, duration, rounds, connections].every((x) => Number.isInteger(x) && x >= 1) || !isGenerator(values.load)) {
	console.error(
		'usage: node scripts/bench/cpu.mjs [--n 100000] [--duration 8] [--rounds 3] [--connections 50] [--against CHECKOUT] [--dev-idp] [--load wrk|autocannon]'
	);
	process.exit(2);
}
const devIdp = values['dev-idp'];

/** User and system CPU time a process has spent, in µs (clock ticks of 10 ms); a child that never started (no pid) has no stat and throws. @param {number | undefined} pid */
function cpuMicros(pid) {
	const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
	return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

ensureBuild();
/** @type {{ name: string, kind: import('./lib.mjs').Kind, appDir: string }[]} */
const contenders = [
	{ name: 'doorcode', kind: 'doorcode', appDir: snapshotBuild() },
	...(values.against
		? [{ name: `doorcode at ${values.against}`, kind: /** @type {const} */ ('doorcode'), appDir: snapshotBuild(resolve(values.against)) }]
		: []),
	{ name: 'baseline', kind: 'baseline', appDir: '' }
];
const servers = [];
for (const { name, kind, appDir } of contenders) {
	const dir = tempDir('doorcode-bench-cpu-');
	const port = await freePort();
	await migrate(kind, { appDir, dir, port, devIdp });
	fill(kind, dir, 0, n, Date.now() + 86_400_000);
	if (kind === 'doorcode') {
		const db = new Database(databaseFile(kind, dir));
		db.prepare('UPDATE device_authorizations SET interval_seconds = 1').run();
		db.close();
	}
	const server = startServer(kind, { appDir, dir, port, devIdp });
	await server.ready;
	servers.push({
		name,
		url: `http://127.0.0.1:${port}${kind === 'doorcode' ? '/oauth' : ''}/token`,
		server,
		perPoll: /** @type {number[]} */ ([]),
		rps: /** @type {number[]} */ ([])
	});
}

console.log(`${fmt(n)} pending codes, ${duration} s per run, ${connections} connections, load from ${values.load}, ${rounds} rounds after a warm-up`);
for (let round = 0; round <= rounds; round++) {
	for (const entry of servers) {
		const before = cpuMicros(entry.server.child.pid);
		const run = await load(entry.url, {
			mode: 'poll',
			codes: n,
			offset: round * 7919,
			duration: round === 0 ? 2 : duration,
			connections,
			generator: values.load
		});
		const spent = cpuMicros(entry.server.child.pid) - before;
		if (round === 0) continue;
		const unexpected = Object.keys(run.answers).filter((answer) => answer !== 'authorization_pending');
		if (run.errors > 0 || unexpected.length > 0) {
			throw new Error(
				`${entry.name}: ${run.errors} connection errors, answers ${JSON.stringify(run.answers)} (slow_down: --n must exceed the polls answered in a second)`
			);
		}
		entry.perPoll.push(spent / run.requests);
		entry.rps.push(run.rps);
		console.log(`round ${round}: ${entry.name}: ${fmt(run.rps)} polls/s, ${fmt(spent / run.requests, 1)} µs of CPU per poll`);
	}
}
console.log('\n| server | CPU per poll (median; range) | polls/s (median) |\n| --- | --- | --- |');
for (const { name, perPoll, rps } of servers) {
	console.log(`| ${name} | ${fmt(median(perPoll), 1)} µs (${fmt(Math.min(...perPoll), 1)}–${fmt(Math.max(...perPoll), 1)}) | ${fmt(median(rps))} |`);
}
for (const { server } of servers) await server.stop();
