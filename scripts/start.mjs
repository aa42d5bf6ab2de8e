// npm start: build, then serve doorcode on the embedded default (SQLite; the local
// identity provider when no ORCID, Clerk or PROVIDERS_FILE provider is configured), and say where to go.
import { spawn, spawnSync } from 'node:child_process';
import process from 'node:process';
import { SERVER_ENVIRONMENT, SERVER_NODE_FLAGS } from './node-flags.mjs';

/** @type {NodeJS.ProcessEnv} */
const env = { ...SERVER_ENVIRONMENT, ...process.env };
env.PORT ??= '3000';
env.ORIGIN ??= `http://localhost:${env.PORT}`;
env.DATABASE_PATH ??= './data/doorcode.db';
const providerConfigured = Boolean(env.ORCID_CLIENT_ID || env.CLERK_CLIENT_ID || env.PROVIDERS_FILE);
if (!providerConfigured && env.DEV_IDP === undefined) env.DEV_IDP = '1';

console.log('doorcode: building…');
const build = spawnSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { stdio: 'inherit', env });
if (build.status !== 0) process.exit(build.status ?? 1);

console.log(`doorcode: starting on ${env.ORIGIN} (database ${env.DATABASE_PATH}${env.DEV_IDP === '1' ? ', development sign-in' : ''})`);
console.log(`doorcode: open ${env.ORIGIN}/device — in another terminal: npm run login -- --server ${env.ORIGIN}`);
const server = spawn(process.execPath, [...SERVER_NODE_FLAGS, 'server.js'], { stdio: 'inherit', env });
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(signal, () => server.kill(signal));
server.on('exit', (code) => process.exit(code ?? 0));
