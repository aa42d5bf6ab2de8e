// CPU profile of doorcode under the benchmark's load: the built server runs with
// `node --cpu-prof` pinned to CPU 0 on a database of N pending codes, takes poll (or
// creation) load from CPU 1 for --duration seconds, is stopped with SIGINT so the
// profile is written, and the profile is summarised (self and inclusive time).
//
//   node scripts/bench/profile.mjs [--server doorcode|baseline] [--mode poll|dpop|create] [--n 100000] [--duration 10]
//                                  [--connections 50] [--out /tmp/prof] [--top 15] [--dev-idp] [--no-build] [--load wrk|autocannon]
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dpopKey, ensureBuild, freePort, isKind, migrate, removeDir, snapshotBuild, startServer, tempDir } from './lib.mjs';
import { describeAnswers, hasWrk, isGenerator, isMode, load } from './load.mjs';
import { formatSummary, summarise } from './profile-summary.mjs';
import { fill } from './sqlite.mjs';

const { values } = parseArgs({
	options: {
		server: { type: 'string', default: 'doorcode' },
		mode: { type: 'string', default: 'poll' },
		n: { type: 'string', default: '100000' },
		duration: { type: 'string', default: '10' },
		connections: { type: 'string', default: '50' },
		out: { type: 'string', default: '/tmp/prof' },
		top: { type: 'string', default: '15' },
		'dev-idp': { type: 'boolean', default: false },
		'no-build': { type: 'boolean', default: false },
		load: { type: 'string', default: hasWrk ? 'wrk' : 'autocannon' }
	}
});
const n = Number(values.n);
const duration = Number(values.duration);
const devIdp = values['dev-idp'];
const { server: kind, mode, load: generator } = values;
if (!isKind(kind) || !isMode(mode) || !isGenerator(generator) || (mode === 'dpop' && kind !== 'doorcode')) {
	console.error(
		'usage: node scripts/bench/profile.mjs [--server doorcode|baseline] [--mode poll|dpop|create] [--n 100000] [--duration 10] [--load wrk|autocannon] (dpop: doorcode only)'
	);
	process.exit(2);
}

ensureBuild({ build: !values['no-build'] });
const appDir = snapshotBuild();
const dir = tempDir('doorcode-bench-profile-');
const port = await freePort();
mkdirSync(values.out, { recursive: true });
const before = new Set(readdirSync(values.out));

await migrate(kind, { appDir, dir, port, devIdp });
// DPoP polls (RFC 9449): the codes are bound to the key the load generator signs its proofs with.
const key = mode === 'dpop' ? await dpopKey() : null;
fill(kind, dir, 0, n, Date.now() + 86_400_000, key?.jkt ?? null);
const server = startServer(kind, { appDir, dir, port, devIdp, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', values.out] });
await server.ready;
const path = (kind === 'doorcode' ? '/oauth' : '') + (mode === 'create' ? '/device_authorization' : '/token');
const result = await load(`http://127.0.0.1:${port}${path}`, {
	mode,
	codes: n,
	...(key ? { dpopKey: key.jwk } : {}),
	duration,
	connections: Number(values.connections),
	generator
});
const exit = await server.stop('SIGINT');
removeDir(dir);
const written = readdirSync(values.out).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
if (written.length === 0) throw new Error(`no .cpuprofile was written to ${values.out} (server exit: ${JSON.stringify(exit)})`);
const file = join(values.out, written.sort((a, b) => statSync(join(values.out, b)).mtimeMs - statSync(join(values.out, a)).mtimeMs)[0]);
console.log(
	`${kind} ${mode} load, N = ${n.toLocaleString('en-US')}, ${duration} s, ${values.connections} connections: ` +
		`${Math.round(result.rps).toLocaleString('en-US')} req/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms; answers: ${describeAnswers(result.answers)}`
);
console.log(`profile: ${file}\n`);
const top = Number(values.top);
console.log(formatSummary(summarise(JSON.parse(readFileSync(file, 'utf8')), { top }), { top }));
