// Starts one of the test servers (tests/support/servers.ts) from the build, on a fresh database.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { SERVERS, type TestServer } from './servers.ts';

const server = Object.values(SERVERS).find((s: TestServer) => s.name === process.argv[2]);
if (!server) throw new Error(`unknown test server ${process.argv[2]}`);
mkdirSync('.e2e', { recursive: true });
for (const suffix of ['', '-wal', '-shm']) rmSync(server.databasePath + suffix, { force: true });
const child = spawn(process.execPath, ['server.js'], { env: { ...process.env, ...server.env }, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 1));
