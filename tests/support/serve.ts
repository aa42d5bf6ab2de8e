// Starts one of the test servers (tests/support/servers.ts) from the build, on a fresh
// database, in this process: when Playwright stops it, nothing is left behind.
import { mkdirSync, rmSync } from 'node:fs';
import { SERVERS, type TestServer } from './servers.ts';

const server = Object.values(SERVERS).find((s: TestServer) => s.name === process.argv[2]);
if (!server) throw new Error(`unknown test server ${process.argv[2]}`);
mkdirSync('.e2e', { recursive: true });
for (const suffix of ['', '-wal', '-shm']) rmSync(server.databasePath + suffix, { force: true });
Object.assign(process.env, server.env);
await import(new URL('../../server.js', import.meta.url).href);
