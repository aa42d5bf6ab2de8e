import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { testServerEnv } from './servers.ts';

/**
 * A private doorcode for one test file: `node server.js` from the build, in its own
 * process, on its own port and SQLite file, with everything it prints captured. Tests
 * that kill the server, read its logs or hammer it with garbage use this instead of the
 * shared servers in servers.ts. Stop it in afterAll.
 */
export interface SpawnedServer {
	/** Where tests reach it, e.g. http://localhost:43817 (ORIGIN exactly). */
	origin: string;
	port: number;
	/** The SQLite file (absolute path; the server is told `.e2e/<name>.db`, relative to the project). */
	databasePath: string;
	/** Everything the server wrote to stdout and stderr since it was first started. */
	logs(): string;
	/** Sends the signal and waits until the process has exited (SIGKILL after 10 s). */
	kill(signal?: NodeJS.Signals): Promise<void>;
	/** How the process last exited: its exit code, or the signal that ended it. */
	lastExit(): { code: number | null; signal: NodeJS.Signals | null } | null;
	/** Starts the server again on the same database file and port, and waits until it answers. */
	restart(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_PATH = '/.well-known/oauth-authorization-server';
const START_TIMEOUT_MS = 30_000;
/** Logs are kept whole up to this size, so a runaway server cannot eat the test's memory. */
const MAX_LOG_CHARS = 32 * 1024 * 1024;

/** A free TCP port at or above 4300 (the shared test servers use 4173–4176 by default). */
export async function freePort(): Promise<number> {
	for (let attempt = 0; attempt < 20; attempt++) {
		const port = await new Promise<number>((resolve, reject) => {
			const probe = createServer();
			probe.once('error', reject);
			probe.listen(0, '127.0.0.1', () => {
				const address = probe.address();
				const found = typeof address === 'object' && address ? address.port : 0;
				probe.close(() => resolve(found));
			});
		});
		if (port >= 4300) return port;
	}
	throw new Error('no free port at or above 4300');
}

/** `port`: one the test chose before (e.g. to register the server's callback at a provider it starts first); else a free one. */
export async function startServer(name: string, overrides: Record<string, string> = {}, { port: chosen }: { port?: number } = {}): Promise<SpawnedServer> {
	if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`server name must be a simple word: ${name}`);
	const port = chosen ?? (await freePort());
	const base = testServerEnv(name, port);
	const origin = base.ORIGIN;
	const databasePath = base.DATABASE_PATH;
	mkdirSync(`${ROOT}.e2e`, { recursive: true });
	for (const suffix of ['', '-wal', '-shm']) rmSync(`${ROOT}${databasePath}${suffix}`, { force: true });
	const env: Record<string, string> = {
		PATH: process.env.PATH ?? '/usr/bin:/bin',
		HOME: process.env.HOME ?? '/tmp',
		...base,
		RATE_LIMITS: 'off',
		...overrides
	};

	let output = '';
	let child: ChildProcess | null = null;
	let exited: Promise<void> = Promise.resolve();
	let lastExit: { code: number | null; signal: NodeJS.Signals | null } | null = null;

	const append = (chunk: Buffer) => {
		if (output.length < MAX_LOG_CHARS) output += chunk.toString('utf8');
	};

	async function launch() {
		const started = spawn(process.execPath, ['server.js'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
		child = started;
		started.stdout?.on('data', append);
		started.stderr?.on('data', append);
		let hasExited = false;
		exited = new Promise<void>((resolve) => {
			started.once('exit', (code, signal) => {
				hasExited = true;
				lastExit = { code, signal };
				resolve();
			});
		});
		const deadline = Date.now() + START_TIMEOUT_MS;
		while (Date.now() < deadline) {
			if (hasExited) throw new Error(`doorcode (${name}) exited during start-up:\n${output.slice(-4000)}`);
			try {
				const response = await fetch(`${origin}${READY_PATH}`, { signal: AbortSignal.timeout(2000) });
				await response.arrayBuffer();
				if (response.status === 200) return;
			} catch {
				// Not listening yet.
			}
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		await stop('SIGKILL');
		throw new Error(`doorcode (${name}) did not answer ${READY_PATH} within ${START_TIMEOUT_MS} ms:\n${output.slice(-4000)}`);
	}

	async function stop(signal: NodeJS.Signals = 'SIGTERM') {
		const running = child;
		if (!running || running.exitCode !== null || running.signalCode !== null) return;
		running.kill(signal);
		const timer = setTimeout(() => running.kill('SIGKILL'), 10_000);
		await exited;
		clearTimeout(timer);
		child = null;
	}

	await launch();
	return {
		origin,
		port,
		databasePath: `${ROOT}${databasePath}`,
		logs: () => output,
		lastExit: () => lastExit,
		kill: stop,
		restart: async () => {
			await stop('SIGTERM');
			await launch();
		}
	};
}
