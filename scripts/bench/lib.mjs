// Shared pieces of the benchmark (scripts/bench.mjs) and the profiler (scripts/bench/profile.mjs):
// starting doorcode and the baseline pinned to CPU 0 on a snapshot of the build, temporary
// folders, and how numbers are printed. Every child process is tracked and killed on exit.
// Filling their databases is in sqlite.mjs; driving load from CPU 1 in load.mjs.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { SERVER_ENVIRONMENT, SERVER_NODE_FLAGS } from '../node-flags.mjs';

/** @typedef {'doorcode' | 'baseline'} Kind the server measured: doorcode or the bare baseline */
/**
 * @typedef {object} ServerOptions
 * @property {string} appDir the snapshot of the build (snapshotBuild)
 * @property {string} dir the folder of the database and the log
 * @property {number} port
 * @property {Record<string, string>} [env] overrides the environment
 * @property {string[]} [nodeArgs] Node flags before the script (e.g. --cpu-prof)
 * @property {boolean} [devIdp] DEV_IDP=1, else (the default) ORCID configured as in production
 */

/** @param {string} value @returns {value is Kind} */
export const isKind = (value) => value === 'doorcode' || value === 'baseline';

export const root = resolve(import.meta.dirname, '..', '..');
export const BASELINE = join(root, 'scripts', 'bench', 'baseline.mjs');
export const CLIENT = 'demo-cli';
export const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
/** @param {number} ms @returns {Promise<void>} */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** "1,234.5": a number as the bench prints it. @param {number} x @param {number} [digits] */
export const fmt = (x, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

// ---------------------------------------------------------------- processes and clean-up

/** @type {Set<import('node:child_process').ChildProcess>} */
export const children = new Set();
/** @type {Set<string>} */
const tempDirs = new Set();

/** @param {string} prefix */
export function tempDir(prefix) {
	const dir = mkdtempSync(join(tmpdir(), prefix));
	tempDirs.add(dir);
	return dir;
}

/** @param {string} dir */
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

/**
 * [command, args] run on one CPU when taskset exists (taskset execs: the pid stays the command's).
 * @param {number} cpu
 * @param {string} command
 * @param {string[]} args
 * @returns {[string, string[]]}
 */
export const pinned = (cpu, command, args) => (hasTaskset ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args]);

/** @returns {Promise<number>} */
export async function freePort() {
	return new Promise((resolvePort, reject) => {
		const server = createServer().listen(0, '127.0.0.1', () => {
			const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
			server.close(() => resolvePort(port));
		});
		server.on('error', reject);
	});
}

/**
 * A key for DPoP runs (ES256): the private JWK the load generator signs with, and its thumbprint,
 * which the codes of those runs are bound to.
 */
export async function dpopKey() {
	const { privateKey } = await generateKeyPair('ES256', { extractable: true });
	const jwk = await exportJWK(privateKey);
	const { kty, crv, x, y } = jwk;
	return { jwk, jkt: await calculateJwkThumbprint({ kty, crv, x, y }) };
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
 * `checkout` is this working tree, or another one built with its own node_modules (cpu.mjs --against).
 * @param {string} [checkout]
 */
export function snapshotBuild(checkout = root) {
	const dir = tempDir('doorcode-bench-app-');
	cpSync(join(checkout, 'build'), join(dir, 'build'), { recursive: true });
	copyFileSync(join(checkout, 'server.js'), join(dir, 'server.js'));
	writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
	symlinkSync(join(checkout, 'node_modules'), join(dir, 'node_modules'), 'dir');
	return dir;
}

// ---------------------------------------------------------------- servers

/**
 * Starts doorcode (appDir/server.js) or the baseline, pinned to CPU 0, logs to dir/<kind>.log.
 * options.env overrides the environment; options.nodeArgs go before the script (e.g. --cpu-prof).
 * @param {Kind} kind
 * @param {ServerOptions} options
 */
export function startServer(kind, { appDir, dir, port, env = {}, nodeArgs = [], devIdp = false }) {
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
			// doorcode runs in the environment it is deployed with; the baseline in the machine's.
			...(kind === 'doorcode' ? SERVER_ENVIRONMENT : {}),
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
	/** @type {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} */
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
		/**
		 * Stops the server (SIGTERM, or SIGINT to let --cpu-prof write its profile), SIGKILL after 15 s.
		 * @param {NodeJS.Signals} [signal]
		 */
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

/**
 * Starts a server on an empty database so it creates its schema, then stops it.
 * @param {Kind} kind
 * @param {ServerOptions} options
 */
export async function migrate(kind, options) {
	const server = startServer(kind, options);
	await server.ready;
	await server.stop();
}
