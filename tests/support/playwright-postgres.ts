import { sharedPostgres } from './postgres.ts';

/**
 * Playwright's global setup: one real PostgreSQL server for the API tests that run doorcode
 * on it. Its address reaches the test workers through DOORCODE_TEST_DATABASE_URL.
 */
export default async function setup() {
	const server = await sharedPostgres();
	process.env.DOORCODE_TEST_DATABASE_URL = server.url;
	return () => server.stop();
}
