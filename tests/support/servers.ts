/** The built servers the API and browser tests run against, each on its own SQLite file. */
export interface TestServer {
	name: string;
	port: number;
	/** Where tests reach it (plain http on loopback, even when ORIGIN says https). */
	origin: string;
	databasePath: string;
	env: Record<string, string>;
}

/** What every test server has: loopback, its own SQLite file, the local identity provider, the test clients, 1-second polls. */
export function testServerEnv(name: string, port: number): Record<string, string> {
	return {
		PORT: String(port),
		HOST: '127.0.0.1',
		ORIGIN: `http://localhost:${port}`,
		DATABASE_PATH: `.e2e/${name}.db`,
		DEV_IDP: '1',
		CLIENTS_FILE: 'tests/fixtures/clients.json',
		POLL_INTERVAL: '1'
	};
}

function server(name: string, port: number, env: Record<string, string>): TestServer {
	const base = testServerEnv(name, port);
	// Most tests make many codes from one address; the limits have their own server below.
	const generousLimits = { RATE_LIMIT_DEVICE_AUTHORIZATION: '100000/60', RATE_LIMIT_CODE_ENTRY: '1000/60' };
	return {
		name,
		port,
		origin: base.ORIGIN,
		databasePath: base.DATABASE_PATH,
		env: {
			...base,
			...generousLimits,
			// Tests name the client's address with X-Forwarded-For, as one proxy hop would.
			TRUST_PROXY: '1',
			// Laure Haak, the local identity provider's second ORCID user, is the admin.
			ADMIN_SUBJECTS: 'orcid:0000-0001-5109-3700',
			...env
		}
	};
}

/**
 * The first of the four shared servers' ports: 4173 unless DOORCODE_TEST_PORT_BASE moves them
 * (two checkouts running their tests at once on one machine).
 */
const PORT_BASE = Number(process.env.DOORCODE_TEST_PORT_BASE ?? 4173);

export const SERVERS = {
	/** Codes live 10 minutes; clients poll every second. */
	main: server('main', PORT_BASE, {}),
	/** Codes expire after 2 seconds, for the expiry rules; never swept, so a test that waits out a code can still poll it. */
	shortLived: server('short-lived', PORT_BASE + 1, { DEVICE_CODE_TTL: '2', SWEEP_INTERVAL: '86400' }),
	/** Small limits, to show each one refusing with 429 and Retry-After. */
	limited: server('limited', PORT_BASE + 2, {
		RATE_LIMIT_CODE_ENTRY: '3/60',
		RATE_LIMIT_DEVICE_AUTHORIZATION: '5/60',
		RATE_LIMIT_DEVICE_AUTHORIZATION_CLIENT: '8/60',
		RATE_LIMIT_TOKEN: '20/60'
	}),
	/** ORIGIN is https (as behind a TLS proxy) and TRUST_PROXY is at its default, 0. */
	secure: server('secure', PORT_BASE + 3, { ORIGIN: `https://localhost:${PORT_BASE + 3}`, TRUST_PROXY: '0', RATE_LIMIT_DEVICE_AUTHORIZATION: '30/60' })
};
