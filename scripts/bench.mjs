// npm run bench: doorcode's two hot paths measured side by side with the bare
// node:http + better-sqlite3 baseline (../shared/bench/baseline.mjs), on loopback.
// Servers are pinned to CPU 0 and the load generator to CPU 1 when taskset exists.
// Load comes from wrk (Debian) when installed, else autocannon. Every run is bounded.
//
//   node scripts/bench.mjs [--sizes 1000,100000,1000000] [--duration 10] [--quick] [--write]
//
// --quick: sizes 200 and 2-second runs, a smoke test (npm test runs it).
// --write: also writes the table to docs/bench.md.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const require = createRequire(join(root, 'package.json'));
const Database = require('better-sqlite3');

const { values } = parseArgs({
	options: {
		sizes: { type: 'string', default: '1000,100000,1000000' },
		duration: { type: 'string', default: '10' },
		connections: { type: 'string', default: '50' },
		quick: { type: 'boolean', default: false },
		write: { type: 'boolean', default: false },
		baseline: { type: 'string', default: join(root, '..', 'shared', 'bench', 'baseline.mjs') }
	}
});
const sizes = (values.quick ? '200' : values.sizes).split(',').map(Number);
const duration = values.quick ? 2 : Number(values.duration);
const connections = Number(values.connections);
const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const CLIENT = 'demo-cli';
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
const children = new Set();

process.on('exit', () => {
	for (const child of children) child.kill('SIGKILL');
});

const pinned = (cpu, command, args) => (hasTaskset ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args]);
const sha256 = (text) => createHash('sha256').update(text).digest();
const deviceCode = (i) => `bench-device-code-${i}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A user code for row i: 8 letters of the base-20 alphabet, distinct for every i. */
function userCode(i) {
	const alphabet = 'BCDFGHJKLMNPQRSTVWXZ';
	let code = '';
	for (let n = i, k = 0; k < 8; k++, n = Math.floor(n / 20)) code += alphabet[n % 20];
	return code;
}

async function freePort() {
	return new Promise((resolvePort) => {
		const server = createServer().listen(0, '127.0.0.1', () => {
			const { port } = server.address();
			server.close(() => resolvePort(port));
		});
	});
}

async function waitFor(url, init) {
	for (let i = 0; i < 200; i++) {
		try {
			await fetch(url, init);
			return;
		} catch {
			await sleep(100);
		}
	}
	throw new Error(`${url} did not answer`);
}

function start(kind, dir, port, env = {}) {
	const script = kind === 'doorcode' ? [join(root, 'server.js')] : [values.baseline];
	const [command, args] = pinned(0, process.execPath, script);
	const child = spawn(command, args, {
		cwd: root,
		stdio: 'ignore',
		env: {
			...process.env,
			PORT: String(port),
			HOST: '127.0.0.1',
			ORIGIN: `http://localhost:${port}`,
			DATABASE_PATH: join(dir, 'doorcode.db'),
			DB_PATH: join(dir, 'baseline.db'),
			CLIENT_ID: CLIENT,
			// A provider as in production (never contacted here), so no development IdP is loaded.
			ORCID_CLIENT_ID: 'APP-BENCH',
			ORCID_CLIENT_SECRET: 'bench',
			RATE_LIMITS: 'off',
			POLL_INTERVAL: '5',
			DEVICE_CODE_TTL: '86400',
			SWEEP_INTERVAL: '3600',
			...env
		}
	});
	children.add(child);
	const path = kind === 'doorcode' ? '/.well-known/oauth-authorization-server' : '/token';
	const ready = waitFor(`http://127.0.0.1:${port}${path}`, kind === 'doorcode' ? undefined : { method: 'POST' });
	return {
		child,
		ready,
		/** Peak resident memory so far (VmHWM), in MB; taskset execs, so the pid is the server's. */
		peakRssMb() {
			const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
			return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
		},
		async stop() {
			child.kill('SIGTERM');
			await new Promise((r) => child.once('exit', r));
			children.delete(child);
		}
	};
}

/** Inserts `count` rows straight into the server's SQLite file, in one transaction. */
function fill(kind, dir, from, count, expiresAt) {
	const db = new Database(join(dir, kind === 'doorcode' ? 'doorcode.db' : 'baseline.db'));
	const now = Date.now();
	const insert =
		kind === 'doorcode'
			? db.prepare(
					`INSERT INTO device_authorizations (device_code_hash, user_code, client_id, scope, created_at, expires_at, interval_seconds)
					 VALUES (?, ?, '${CLIENT}', 'read write', ?, ?, 5)`
				)
			: db.prepare(`INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, status, created_at, expires_at) VALUES (?, ?, '${CLIENT}', NULL, 'pending', ?, ?)`);
	db.transaction(() => {
		for (let i = from; i < from + count; i++) insert.run(sha256(deviceCode(i)), userCode(i), now, expiresAt);
	})();
	db.pragma('wal_checkpoint(TRUNCATE)');
	db.close();
}

function databaseBytes(kind, dir) {
	const file = join(dir, kind === 'doorcode' ? 'doorcode.db' : 'baseline.db');
	const db = new Database(file);
	db.pragma('wal_checkpoint(TRUNCATE)');
	db.close();
	return statSync(file).size;
}

/** Load for `duration` seconds: polls cycling through codes [0, n), or code creation. */
async function load(url, { pollCodes, create }) {
	if (hasWrk) return loadWithWrk(url, { pollCodes, create });
	const autocannon = require('autocannon');
	let i = 0;
	const result = await autocannon({
		url,
		connections,
		duration,
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		requests: [
			{
				setupRequest(request) {
					request.body = create
						? `client_id=${CLIENT}`
						: `grant_type=${encodeURIComponent(GRANT)}&client_id=${CLIENT}&device_code=${deviceCode(i++ % pollCodes)}`;
					return request;
				}
			}
		]
	});
	return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

function loadWithWrk(url, { pollCodes, create }) {
	const dir = mkdtempSync(join(tmpdir(), 'doorcode-wrk-'));
	const script = join(dir, 'load.lua');
	writeFileSync(
		script,
		`wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local i = 0
request = function()
	${create ? `local body = "client_id=${CLIENT}"` : `i = (i + 1) % ${pollCodes}
	local body = "grant_type=${encodeURIComponent(GRANT)}&client_id=${CLIENT}&device_code=bench-device-code-" .. i`}
	return wrk.format(nil, nil, nil, body)
end
done = function(summary, latency, requests)
	io.write(string.format("RESULT %f %f %f\\n", summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
`
	);
	return new Promise((resolveLoad, reject) => {
		const [command, args] = pinned(1, 'wrk', ['-t1', `-c${connections}`, `-d${duration}s`, '-s', script, url]);
		const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
		children.add(child);
		let out = '';
		child.stdout.on('data', (chunk) => (out += chunk));
		child.on('exit', () => {
			children.delete(child);
			rmSync(dir, { recursive: true, force: true });
			const match = /RESULT (\S+) (\S+) (\S+)/.exec(out);
			if (!match) return reject(new Error(`wrk printed no result:\n${out}`));
			resolveLoad({ rps: Number(match[1]), p50: Number(match[2]), p99: Number(match[3]) });
		});
	});
}

/** One server kind at one size: poll load, creation load, memory, bytes per code. */
async function measure(kind, n) {
	const dir = mkdtempSync(join(tmpdir(), `doorcode-bench-${kind}-`));
	const port = await freePort();
	const prefix = kind === 'doorcode' ? '/oauth' : '';
	let server = start(kind, dir, port);
	await server.ready;
	await server.stop();
	fill(kind, dir, 0, n, Date.now() + 86_400_000);
	server = start(kind, dir, port);
	await server.ready;
	const poll = await load(`http://127.0.0.1:${port}${prefix}/token`, { pollCodes: n });
	const rss = server.peakRssMb();
	await server.stop();
	const bytesPerCode = databaseBytes(kind, dir) / n;
	server = start(kind, dir, port);
	await server.ready;
	const create = await load(`http://127.0.0.1:${port}${prefix}/device_authorization`, { create: true });
	await server.stop();
	rmSync(dir, { recursive: true, force: true });
	return { poll, create, rss, bytesPerCode };
}

/**
 * doorcode's poll rate over n live and n expired rows, first with the sweeper idle,
 * then while it deletes the expired ones (SWEEP_INTERVAL=1): the same data both times.
 */
async function measureSweep(n) {
	const dir = mkdtempSync(join(tmpdir(), 'doorcode-bench-sweep-'));
	const port = await freePort();
	let server = start('doorcode', dir, port);
	await server.ready;
	await server.stop();
	fill('doorcode', dir, 0, n, Date.now() + 86_400_000);
	fill('doorcode', dir, n, n, Date.now() - 1000);
	server = start('doorcode', dir, port);
	await server.ready;
	const idle = await load(`http://127.0.0.1:${port}/oauth/token`, { pollCodes: n });
	await server.stop();
	server = start('doorcode', dir, port, { SWEEP_INTERVAL: '1' });
	await server.ready;
	const poll = await load(`http://127.0.0.1:${port}/oauth/token`, { pollCodes: n });
	await server.stop();
	const db = new Database(join(dir, 'doorcode.db'), { readonly: true });
	const left = db.prepare('SELECT count(*) AS n FROM device_authorizations WHERE expires_at <= ?').get(Date.now()).n;
	db.close();
	rmSync(dir, { recursive: true, force: true });
	return { idle, poll, expiredLeft: left };
}

const rows = [];
const fmt = (x, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (a, b) => (b ? `${(a / b).toFixed(2)}×` : '—');
const row = (metric, n, ours, base, unit, digits = 0) =>
	rows.push(`| ${metric} | ${fmt(n)} | ${fmt(ours, digits)}${unit} | ${base === null ? '—' : fmt(base, digits) + unit} | ${base === null ? '—' : ratio(ours, base)} |`);

if (!existsSync(join(root, 'build', 'handler.js'))) {
	console.error('bench: building…');
	execFileSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
}
console.error(`bench: sizes ${sizes.join(', ')}; ${duration} s per run; ${connections} connections; load from ${hasWrk ? 'wrk' : 'autocannon'}${hasTaskset ? '; servers on CPU 0, load on CPU 1' : ''}`);

const results = new Map();
for (const n of sizes) {
	console.error(`bench: N = ${n}`);
	const ours = await measure('doorcode', n);
	const base = await measure('baseline', n);
	const sweep = await measureSweep(n);
	results.set(n, { ours, base, sweep });
	row('poll throughput', n, ours.poll.rps, base.poll.rps, ' /s');
	row('poll p50', n, ours.poll.p50, base.poll.p50, ' ms', 2);
	row('poll p99', n, ours.poll.p99, base.poll.p99, ' ms', 2);
	row('creation throughput', n, ours.create.rps, base.create.rps, ' /s');
	row('creation p99', n, ours.create.p99, base.create.p99, ' ms', 2);
	row('peak RSS under poll load', n, ours.rss, base.rss, ' MB', 1);
	row('database bytes per pending code', n, ours.bytesPerCode, base.bytesPerCode, ' B');
	row(`poll throughput over ${fmt(n)} live + ${fmt(n)} expired rows, sweeper idle`, n, sweep.idle.rps, null, ' /s');
	row(`… the same while the sweeper deletes them (${fmt(sweep.expiredLeft)} left after the run)`, n, sweep.poll.rps, null, ' /s');
}

const smallest = results.get(sizes[0]);
const largest = results.get(sizes.at(-1));
const target = (name, met, detail) => `| ${name} | ${met ? 'met' : 'MISSED'} | ${detail} |`;
const targets = [
	target('poll throughput ≥ 0.8× baseline', [...results.values()].every((r) => r.ours.poll.rps >= 0.8 * r.base.poll.rps), [...results].map(([n, r]) => `${fmt(n)}: ${ratio(r.ours.poll.rps, r.base.poll.rps)}`).join(', ')),
	target('poll p99 ≤ 1.5× baseline', [...results.values()].every((r) => r.ours.poll.p99 <= 1.5 * r.base.poll.p99), [...results].map(([n, r]) => `${fmt(n)}: ${ratio(r.ours.poll.p99, r.base.poll.p99)}`).join(', ')),
	target('creation throughput ≥ 0.8× baseline', [...results.values()].every((r) => r.ours.create.rps >= 0.8 * r.base.create.rps), [...results].map(([n, r]) => `${fmt(n)}: ${ratio(r.ours.create.rps, r.base.create.rps)}`).join(', ')),
	target('creation p99 ≤ 30 ms', [...results.values()].every((r) => r.ours.create.p99 <= 30), [...results].map(([n, r]) => `${fmt(n)}: ${fmt(r.ours.create.p99, 1)} ms`).join(', ')),
	target('poll throughput within 15 % from smallest to largest N', Math.abs(largest.ours.poll.rps / smallest.ours.poll.rps - 1) <= 0.15, `${ratio(largest.ours.poll.rps, smallest.ours.poll.rps)}`),
	target('peak RSS ≤ 150 MB at the largest N', largest.ours.rss <= 150, `${fmt(largest.ours.rss, 1)} MB`),
	target('sweeping costs the poll rate < 10 %', [...results.values()].every((r) => r.sweep.poll.rps >= 0.9 * r.sweep.idle.rps), [...results].map(([n, r]) => `${fmt(n)}: ${ratio(r.sweep.poll.rps, r.sweep.idle.rps)}`).join(', '))
];

const table = [
	`Measured ${new Date().toISOString().slice(0, 10)} on ${sizes.length} size(s), ${duration} s per run, ${connections} connections, load from ${hasWrk ? 'wrk' : 'autocannon'}${hasTaskset ? ', server on CPU 0 and load on CPU 1' : ''}. Polls cycle through the N pending codes. Ratios travel between machines; absolute numbers do not.`,
	'',
	'| metric | N | doorcode | baseline | ratio |',
	'| --- | --- | --- | --- | --- |',
	...rows,
	'',
	'| target | | measured |',
	'| --- | --- | --- |',
	...targets
].join('\n');
console.log(table);
if (values.write) writeFileSync(join(root, 'docs', 'bench.md'), `# Benchmark\n\n${table}\n`);
