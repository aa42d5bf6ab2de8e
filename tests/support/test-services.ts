import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { emptiedDatabase, everyRow } from './postgres.ts';
import { loadConfig, type Config } from '../../src/lib/server/core/config';
import { openPostgresStore } from '../../src/lib/server/store/postgres/postgres-store';
import { createServices, type RequestContext, type Services } from '../../src/lib/server/core/services';
import { declareClientsFile } from '../../src/lib/server/oauth/client-registry';
import { openSqliteStore } from '../../src/lib/server/store/sqlite/sqlite-store';
import type { Database } from '../../src/lib/server/store/store';

/** ORIGIN in module tests: where their endpoints are, as DPoP proofs name them. */
export const TEST_ORIGIN = 'https://login.example.org';
export const USERINFO_URL = `${TEST_ORIGIN}/oauth/userinfo`;

/** The engine this vitest project runs the domain tests on (vite.config.ts). */
export const testEngine = inject('engine');

/** This test file's PostgreSQL database, emptied for each testServices(). */
const emptyPostgresDatabase = emptiedDatabase(inject('postgresUrl'), 'services');

export type TestServices = Services & {
	/** The SQLite file (SQLite only). */
	databasePath: string | null;
	/** Everything the database holds, as text: the SQLite file and its write-ahead log, or every row of every PostgreSQL table. */
	storedText(): Promise<string>;
	/** Another instance on the same database, with its own store and client cache, as a second process would have (closed by dispose). */
	anotherInstance(): Promise<Services>;
	dispose(): Promise<void>;
};

/**
 * Services on an empty database, for module tests: a new SQLite file in a temporary folder,
 * or on PostgreSQL (the project `postgres`) an emptied database on the tests' server, with
 * that engine's own rate limiter.
 */
export async function testServices(overrides: Partial<Config> = {}): Promise<TestServices> {
	const folder = mkdtempSync(join(tmpdir(), 'doorcode-test-'));
	const databasePath = join(folder, 'doorcode.db');
	const databaseUrl = testEngine === 'postgres' ? await emptyPostgresDatabase() : null;
	// SPEC's defaults, as loadConfig makes them from an environment that sets only what a test needs.
	const loaded = loadConfig({ ORIGIN: TEST_ORIGIN, DATABASE_PATH: databasePath, DEV_IDP: '1' });
	if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
	const config: Config = { ...loaded.config, databaseUrl, devIdp: false, ...overrides };
	const open = async (): Promise<Database> =>
		databaseUrl ? openPostgresStore({ url: databaseUrl, poolSize: config.databasePoolSize }) : openSqliteStore(databasePath);
	const services = await createServices(config, await open());
	const others: Services[] = [];
	// As at start-up: the configured clients (the demo client unless a test names others) declared.
	await declareClientsFile(services, Date.now());
	return {
		...services,
		databasePath: databaseUrl ? null : databasePath,
		storedText: async () => (databaseUrl ? (await everyRow(databaseUrl)).join('\n') : sqliteText(databasePath)),
		async anotherInstance() {
			const other = await createServices(config, await open());
			others.push(other);
			return other;
		},
		async dispose() {
			for (const each of [services, ...others]) {
				each.clients.close();
				await each.store.close();
			}
			rmSync(folder, { recursive: true, force: true });
		}
	};
}

/** The file and its write-ahead log as they are on disk: every committed page, old versions included. */
function sqliteText(path: string): string {
	return [path, `${path}-wal`]
		.filter((file) => existsSync(file))
		.map((file) => readFileSync(file).toString('latin1'))
		.join('\n');
}

export function context(now: number, request: Partial<Pick<RequestContext, 'method' | 'authorization' | 'dpop'>> = {}): RequestContext {
	return { now, method: 'POST', ip: '192.0.2.7', userAgent: 'test-cli/1.0', authorization: null, dpop: null, ...request };
}

/** A GET of a resource with an access token in the Bearer scheme. */
export function bearer(now: number, accessToken: string): RequestContext {
	return context(now, { method: 'GET', authorization: `Bearer ${accessToken}` });
}

export function actor(user: { id: number; sub: string }) {
	return { userId: user.id, sub: user.sub, ip: '192.0.2.8' };
}
