import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_CLIENT } from './clients';
import type { Config } from './config';
import { createServices, type RequestContext, type Services } from './services';
import { MemoryLimiter } from './rate-limit';
import { openSqliteStore } from './sqlite-store';

export type TestServices = Services & { databasePath: string; dispose(): Promise<void> };

/** Services on a fresh SQLite file in a temporary folder, for module tests. */
export async function testServices(overrides: Partial<Config> = {}): Promise<TestServices> {
	const folder = mkdtempSync(join(tmpdir(), 'doorcode-test-'));
	const databasePath = join(folder, 'doorcode.db');
	const config: Config = {
		origin: 'https://login.example.org',
		secure: true,
		production: false,
		databasePath,
		databaseUrl: null,
		databasePoolSize: 10,
		keyEncryptionSecret: null,
		signingKeyDays: 30,
		metricsToken: null,
		metrics: true,
		providers: {},
		adminSubjects: [],
		clients: [DEMO_CLIENT],
		deviceCodeTtl: 600,
		pollInterval: 5,
		sweepInterval: 60,
		accessTokenTtl: 3600,
		refreshTokenTtl: 30 * 86400,
		sessionTtl: 30 * 86400,
		rateLimits: true,
		limits: {
			codeEntry: { count: 5, windowSeconds: 60 },
			deviceAuthorizationPerIp: { count: 30, windowSeconds: 60 },
			deviceAuthorizationPerClient: { count: 600, windowSeconds: 60 },
			tokenPerIp: { count: 3000, windowSeconds: 60 }
		},
		reportBlockSeconds: 3600,
		trustProxy: 0,
		devIdp: false,
		...overrides
	};
	const services = await createServices(config, { store: openSqliteStore(databasePath), limiter: new MemoryLimiter() });
	return {
		...services,
		databasePath,
		async dispose() {
			await services.store.close();
			rmSync(folder, { recursive: true, force: true });
		}
	};
}

export function context(now: number): RequestContext {
	return { now, ip: '192.0.2.7', userAgent: 'test-cli/1.0', authorization: null };
}

export function actor(user: { id: number; sub: string }) {
	return { userId: user.id, sub: user.sub, ip: '192.0.2.8' };
}
