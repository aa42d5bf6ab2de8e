/** The built servers the API and browser tests run against, each on its own SQLite file. */
export interface TestServer {
	name: string;
	port: number;
	origin: string;
	databasePath: string;
	env: Record<string, string>;
}

function server(name: string, port: number, env: Record<string, string>): TestServer {
	const origin = `http://localhost:${port}`;
	const databasePath = `.e2e/${name}.db`;
	return {
		name,
		port,
		origin,
		databasePath,
		env: {
			PORT: String(port),
			HOST: '127.0.0.1',
			ORIGIN: origin,
			DATABASE_PATH: databasePath,
			DEV_IDP: '1',
			CLIENTS_FILE: 'tests/fixtures/clients.json',
			POLL_INTERVAL: '1',
			// Tests name the client's address with X-Forwarded-For, as one proxy hop would.
			TRUST_PROXY: '1',
			// Laure Haak, the local identity provider's second ORCID user, is the admin.
			ADMIN_SUBJECTS: 'orcid:0000-0001-5109-3700',
			...env
		}
	};
}

export const SERVERS = {
	/** Codes live 10 minutes; clients poll every second. */
	main: server('main', 4173, {}),
	/** Codes expire after 2 seconds, for the expiry rules. */
	shortLived: server('short-lived', 4174, { DEVICE_CODE_TTL: '2' })
};
