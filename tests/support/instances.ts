import { createServer, request, type Server } from 'node:http';
import { startDevIdentityProvider, type DevIdentityProvider } from '../../src/lib/server/dev-idp/dev-idp.ts';
import { createDatabase } from './postgres.ts';
import { freePort, startServer, type SpawnedServer } from './spawned-server.ts';

/**
 * Several doorcode instances on one PostgreSQL database behind a round-robin balancer, as
 * SPEC's "Many instances" runs them: one ORIGIN (the balancer's) everywhere, one identity
 * provider standing in for ORCID and Clerk for all of them, TRUST_PROXY=1.
 */
export interface Cluster {
	/** The balancer's origin: what CLIs and browsers use. */
	origin: string;
	instances: SpawnedServer[];
	databaseUrl: string;
	/** How many requests each instance served through the balancer. */
	served: number[];
	/** The instance a direct request goes to, bypassing the balancer. */
	at(index: number): string;
	stop(): Promise<void>;
}

export async function startCluster(name: string, count: number, env: Record<string, string> = {}): Promise<Cluster> {
	const serverUrl = process.env.DOORCODE_TEST_DATABASE_URL;
	if (!serverUrl) throw new Error('DOORCODE_TEST_DATABASE_URL is not set: tests/support/playwright-postgres.ts starts the server');
	const databaseUrl = await createDatabase(serverUrl, name);
	const port = await freePort();
	const origin = `http://localhost:${port}`;
	const idp: DevIdentityProvider = await startDevIdentityProvider({ origin });
	const providers = {
		DEV_IDP: '0',
		ORCID_CLIENT_ID: idp.orcid.clientId,
		ORCID_CLIENT_SECRET: idp.orcid.clientSecret,
		ORCID_BASE_URL: idp.orcid.baseUrl,
		CLERK_CLIENT_ID: idp.clerk.clientId,
		CLERK_CLIENT_SECRET: idp.clerk.clientSecret,
		CLERK_BASE_URL: idp.clerk.baseUrl
	};
	const instances = await Promise.all(
		Array.from({ length: count }, (_, i) =>
			startServer(`${name}-${i}`, {
				ORIGIN: origin,
				DATABASE_URL: databaseUrl,
				TRUST_PROXY: '1',
				RATE_LIMITS: 'on',
				// Tests make many codes from one address; the limits under test set their own.
				RATE_LIMIT_DEVICE_AUTHORIZATION: '100000/60',
				RATE_LIMIT_CODE_ENTRY: '1000/60',
				ADMIN_SUBJECTS: 'orcid:0000-0001-5109-3700',
				...providers,
				...env
			})
		)
	);
	const served = instances.map(() => 0);
	let next = 0;
	const balancer: Server = createServer((incoming, outgoing) => {
		const index = next++ % instances.length;
		served[index]++;
		const forwardedFor = [incoming.headers['x-forwarded-for'], incoming.socket.remoteAddress].filter(Boolean).join(', ');
		const upstream = request(
			{
				host: '127.0.0.1',
				port: instances[index].port,
				method: incoming.method,
				path: incoming.url,
				headers: { ...incoming.headers, 'x-forwarded-for': forwardedFor },
				agent: false
			},
			(answer) => {
				outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
				answer.pipe(outgoing);
			}
		);
		upstream.on('error', () => {
			if (!outgoing.headersSent) outgoing.writeHead(502).end();
		});
		incoming.pipe(upstream);
	});
	await new Promise<void>((resolve) => balancer.listen(port, '127.0.0.1', resolve));
	return {
		origin,
		instances,
		databaseUrl,
		served,
		at: (index) => `http://127.0.0.1:${instances[index].port}`,
		async stop() {
			await new Promise((resolve) => balancer.close(resolve));
			balancer.closeAllConnections();
			await Promise.all(instances.map((instance) => instance.kill()));
			await idp.close();
		}
	};
}
