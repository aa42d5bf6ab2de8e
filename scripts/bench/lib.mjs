// Shared pieces of the benchmark (scripts/bench.mjs) and the profiler (scripts/bench/profile.mjs):
// starting doorcode and the baseline pinned to CPU 0, filling their databases with known
// pending codes, and driving bounded load from CPU 1 (wrk when installed, else autocannon
// in a pinned child process). Every child process is tracked and killed on exit.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SERVER_NODE_FLAGS } from '../node-flags.mjs';

export const root = resolve(import.meta.dirname, '..', '..');
export const require = createRequire(join(root, 'package.json'));
export const Database = require('better-sqlite3');
export const BASELINE = join(root, 'scripts', 'bench', 'baseline.mjs');
export const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const CLIENT = 'demo-cli';
export const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
export const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const sha256 = (text) => createHash('sha256').update(text).digest();

/** Device code i: 43 characters of the base64url alphabet, like a real one (32 random bytes). */
export const deviceCode = (i) => `bench-code-${String(i).padStart(32, '0')}`;
const LUA_DEVICE_CODE = 'string.format("bench-code-%032d", i)';

/** User code i: 8 letters of the base-20 alphabet, distinct for every i < 20^8. */
export function userCode(i) {
	const alphabet = 'BCDFGHJKLMNPQRSTVWXZ';
	let code = '';
	for (let n = i, k = 0; k < 8; k++, n = Math.floor(n / 20)) code += alphabet[n % 20];
	return code;
}

// ---------------------------------------------------------------- processes and clean-up

export const children = new Set();
const tempDirs = new Set();

export function tempDir(prefix) {
	const dir = mkdtempSync(join(tmpdir(), prefix));
	tempDirs.add(dir);
	return dir;
}

export function removeDir(dir) {
	rmSync(dir, { recursive: true, force: true });
	tempDirs.delete(dir);
}

function cleanUp() {
	for (const child of children) {
		try {
			child.kill('SIGKILL');
		} catch {
			// Already gone.
		}
	}
	children.clear();
	for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
	tempDirs.clear();
}
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
	process.on(signal, () => {
		console.error(`bench: ${signal}: stopping every child process`);
		process.exit(130);
	});
}

/** [command, args] run on one CPU when taskset exists (taskset execs: the pid stays the command's). */
export const pinned = (cpu, command, args) => (hasTaskset ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args]);

export async function freePort() {
	return new Promise((resolvePort, reject) => {
		const server = createServer().listen(0, '127.0.0.1', () => {
			const { port } = server.address();
			server.close(() => resolvePort(port));
		});
		server.on('error', reject);
	});
}

// ---------------------------------------------------------------- build

/** Builds doorcode into build/ when it is missing (unless told not to). */
export function ensureBuild({ build = true } = {}) {
	if (existsSync(join(root, 'build', 'handler.js'))) return;
	if (!build) throw new Error('build/ is missing and --no-build was given: run `npm run build` first');
	console.error('bench: build/ is missing; building with vite…');
	execFileSync(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
}

/**
 * A private copy of server.js and build/ (node_modules linked), so a rebuild in the working
 * tree while the benchmark runs neither breaks a start-up nor mixes two versions in one table.
 */
export function snapshotBuild() {
	const dir = tempDir('doorcode-bench-app-');
	cpSync(join(root, 'build'), join(dir, 'build'), { recursive: true });
	copyFileSync(join(root, 'server.js'), join(dir, 'server.js'));
	writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
	symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
	return dir;
}

// ---------------------------------------------------------------- servers

/**
 * Starts doorcode (appDir/server.js) or the baseline, pinned to CPU 0, logs to dir/<kind>.log.
 * options.env overrides the environment; options.nodeArgs go before the script (e.g. --cpu-prof).
 */
export function startServer(kind, { appDir, dir, port, env = {}, nodeArgs = [], devIdp = true }) {
	const script = kind === 'doorcode' ? join(appDir, 'server.js') : BASELINE;
	// doorcode runs with the flags it is deployed with; the baseline with Node's defaults.
	const [command, args] = pinned(0, process.execPath, [...(kind === 'doorcode' ? SERVER_NODE_FLAGS : []), ...nodeArgs, script]);
	const logFile = join(dir, `${kind}.log`);
	const logFd = openSync(logFile, 'a');
	const providers = devIdp
		? { DEV_IDP: '1' }
		: // A provider configured as in production (never contacted here): no development IdP in the process.
			{ DEV_IDP: '0', ORCID_CLIENT_ID: 'APP-BENCH', ORCID_CLIENT_SECRET: 'bench' };
	const child = spawn(command, args, {
		cwd: root, // the baseline loads better-sqlite3 from the working directory's node_modules
		stdio: ['ignore', logFd, logFd],
		env: {
			...process.env,
			// Unset, as under `npm start`: NODE_ENV=production would refuse DEV_IDP and the demo client.
			NODE_ENV: undefined,
			PORT: String(port),
			HOST: '127.0.0.1',
			ORIGIN: `http://127.0.0.1:${port}`,
			DATABASE_PATH: join(dir, 'doorcode.db'),
			DB_PATH: join(dir, 'baseline.db'),
			CLIENT_ID: CLIENT,
			RATE_LIMITS: 'off',
			POLL_INTERVAL: '5',
			DEVICE_CODE_TTL: '86400',
			SWEEP_INTERVAL: '86400',
			...providers,
			...env
		}
	});
	closeSync(logFd);
	children.add(child);
	const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
	exited.then(() => children.delete(child));
	const path = kind === 'doorcode' ? '/.well-known/oauth-authorization-server' : '/token';
	const ready = (async () => {
		let gone = false;
		exited.then(() => (gone = true));
		for (let i = 0; i < 300 && !gone; i++) {
			try {
				await fetch(`http://127.0.0.1:${port}${path}`, kind === 'doorcode' ? undefined : { method: 'POST' });
				return;
			} catch {
				await sleep(100);
			}
		}
		const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
		throw new Error(`${kind} on port ${port} did not start${gone ? ' (it exited)' : ''}; its log ends:\n${tail}`);
	})();
	return {
		child,
		ready,
		logFile,
		/** Peak resident memory so far (VmHWM), in MB. */
		peakRssMb() {
			const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
			return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
		},
		/** Stops the server (SIGTERM, or SIGINT to let --cpu-prof write its profile), SIGKILL after 15 s. */
		async stop(signal = 'SIGTERM') {
			if (child.exitCode !== null || child.signalCode !== null) return exited;
			child.kill(signal);
			const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
			const result = await exited;
			clearTimeout(timer);
			return result;
		}
	};
}

/** Starts a server on an empty database so it creates its schema, then stops it. */
export async function migrate(kind, options) {
	const server = startServer(kind, options);
	await server.ready;
	await server.stop();
}

export const databaseFile = (kind, dir) => join(dir, kind === 'doorcode' ? 'doorcode.db' : 'baseline.db');

/**
 * Inserts codes [from, from + count) straight into the server's SQLite file in one transaction,
 * hashed exactly as the server hashes them (SHA-256 of the device code string, as a BLOB).
 * doorcode's rows carry what a real request leaves (scope, interval, requester IP).
 */
export function fill(kind, dir, from, count, expiresAt) {
	const db = new Database(databaseFile(kind, dir));
	db.pragma('journal_mode = WAL');
	db.pragma('synchronous = OFF');
	const now = Date.now();
	const insert =
		kind === 'doorcode'
			? db.prepare(
					`INSERT INTO device_authorizations (device_code_hash, user_code, client_id, scope, created_at, expires_at, interval_seconds, requester_ip, requester_user_agent)
					 VALUES (?, ?, '${CLIENT}', 'read write', ?, ?, 5, '127.0.0.1', NULL)`
				)
			: db.prepare(
					`INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, status, created_at, expires_at) VALUES (?, ?, '${CLIENT}', NULL, 'pending', ?, ?)`
				);
	db.transaction(() => {
		for (let i = from; i < from + count; i++) insert.run(sha256(deviceCode(i)), userCode(i), now, expiresAt);
	})();
	db.pragma('wal_checkpoint(TRUNCATE)');
	db.close();
}

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
 */
export function truncateWal(kind, dir) {
	const db = new Database(databaseFile(kind, dir));
	db.pragma('busy_timeout = 10000');
	const [result] = db.pragma('wal_checkpoint(TRUNCATE)');
	db.close();
	return result;
}

/** Bytes the database takes after a checkpoint: main file plus what is left of the WAL. */
export function databaseBytes(kind, dir) {
	const file = databaseFile(kind, dir);
	const db = new Database(file);
	db.pragma('wal_checkpoint(TRUNCATE)');
	db.close();
	return statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
}

// ---------------------------------------------------------------- load

/**
 * Bounded load for `duration` seconds with `connections` connections from CPU 1.
 * mode 'poll': token polls cycling round-robin through codes [0, codes), starting at `offset`;
 * mode 'create': device authorization requests.
 * Returns { rps, p50, p99 (ms), requests, answers: { <error or "ok" or status>: count }, errors }.
 */
export async function load(url, { mode, codes = 0, offset = 0, duration, connections, generator = hasWrk ? 'wrk' : 'autocannon' }) {
	if (generator === 'wrk') return loadWithWrk(url, { mode, codes, offset, duration, connections });
	return loadWithAutocannon(url, { mode, codes, offset, duration, connections });
}

function loadWithWrk(url, { mode, codes, offset, duration, connections }) {
	const dir = tempDir('doorcode-bench-wrk-');
	const script = join(dir, 'load.lua');
	const body =
		mode === 'create'
			? `wrk.body = "client_id=${CLIENT}"`
			: `local i = ${offset % Math.max(codes, 1)}
request = function()
	local body = "grant_type=${encodeURIComponent(GRANT)}&client_id=${CLIENT}&device_code=" .. ${LUA_DEVICE_CODE}
	i = i + 1
	if i >= ${codes} then i = 0 end
	return wrk.format(nil, nil, nil, body)
end`;
	writeFileSync(
		script,
		`wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
${body}
answers = {}
response = function(status, headers, body)
	local key = string.match(body, '"error":"([%w_]+)"')
	if not key then key = status == 200 and "ok" or tostring(status) end
	answers[key] = (answers[key] or 0) + 1
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT %d %f %f %f %d %d %d %d\\n", summary.requests, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, e.connect, e.read, e.write, e.timeout))
	for _, thread in ipairs(threads) do
		for key, count in pairs(thread:get("answers")) do io.write(string.format("ANSWER %s %d\\n", key, count)) end
	end
end
`
	);
	return new Promise((resolveLoad, reject) => {
		const [command, args] = pinned(1, 'wrk', ['-t1', `-c${connections}`, `-d${duration}s`, '--timeout', '10s', '-s', script, url]);
		const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
		children.add(child);
		const killer = setTimeout(() => child.kill('SIGKILL'), (duration + 30) * 1000);
		let out = '';
		child.stdout.on('data', (chunk) => (out += chunk));
		child.stderr.on('data', (chunk) => (out += chunk));
		child.on('exit', () => {
			clearTimeout(killer);
			children.delete(child);
			removeDir(dir);
			const match = /RESULT (\d+) (\S+) (\S+) (\S+) (\d+) (\d+) (\d+) (\d+)/.exec(out);
			if (!match) return reject(new Error(`wrk printed no result:\n${out}`));
			const answers = {};
			for (const [, key, count] of out.matchAll(/ANSWER (\S+) (\d+)/g)) answers[key] = Number(count);
			const [requests, rps, p50, p99, ...errors] = match.slice(1).map(Number);
			resolveLoad({ requests, rps, p50, p99, answers, errors: errors.reduce((a, b) => a + b, 0) });
		});
	});
}

function loadWithAutocannon(url, options) {
	return new Promise((resolveLoad, reject) => {
		const [command, args] = pinned(1, process.execPath, [
			join(import.meta.dirname, 'autocannon-load.mjs'),
			JSON.stringify({ url, ...options, client: CLIENT, grant: GRANT })
		]);
		const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
		children.add(child);
		const killer = setTimeout(() => child.kill('SIGKILL'), (options.duration + 30) * 1000);
		let out = '';
		child.stdout.on('data', (chunk) => (out += chunk));
		child.on('exit', () => {
			clearTimeout(killer);
			children.delete(child);
			try {
				resolveLoad(JSON.parse(out));
			} catch {
				reject(new Error(`autocannon printed no result:\n${out}`));
			}
		});
	});
}

/** "slow_down 97 %, authorization_pending 3 %" */
export function describeAnswers(answers) {
	const total = Object.values(answers).reduce((a, b) => a + b, 0) || 1;
	return Object.entries(answers)
		.sort((a, b) => b[1] - a[1])
		.map(([key, count]) => `${key} ${Math.round((100 * count) / total)} %`)
		.join(', ');
}
