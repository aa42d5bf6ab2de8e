import { expect, test } from '@playwright/test';
import { request } from 'node:http';
import { DEVICE_GRANT } from '../support/oauth.ts';
import { startServer, type SpawnedServer } from '../support/spawned-server.ts';

/** SIGTERM under load: requests in flight are answered and committed, then the process exits 0. */

let server: SpawnedServer;
test.beforeAll(async () => {
	server = await startServer('shutdown');
});
test.afterAll(async () => {
	await server?.kill();
});

/** A POST whose body is still being sent: the headers and half the body now, the rest when told. */
function slowPost(path: string, body: string) {
	const half = Math.floor(body.length / 2);
	let finish: () => void = () => {};
	const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
		const outgoing = request(
			{
				host: '127.0.0.1',
				port: server.port,
				method: 'POST',
				path,
				headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) }
			},
			(response) => {
				let text = '';
				response.on('data', (chunk) => (text += chunk));
				response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
				response.on('error', reject);
			}
		);
		outgoing.on('error', reject);
		outgoing.write(body.slice(0, half));
		finish = () => outgoing.end(body.slice(half));
	});
	return { answer, finish: () => finish() };
}

test('SIGTERM lets requests in flight finish and commit, refuses new connections, and exits 0 in time', async () => {
	const codes = await Promise.all(
		Array.from({ length: 5 }, async () => {
			const response = await fetch(`${server.origin}/oauth/device_authorization`, { method: 'POST', body: new URLSearchParams({ client_id: 'demo-cli' }) });
			return (await response.json()) as { device_code: string };
		})
	);
	// Ten requests in flight when the signal comes: five polls and five new codes, bodies half sent.
	const polls = codes.map((code) =>
		slowPost('/oauth/token', new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: code.device_code, client_id: 'demo-cli' }).toString())
	);
	const creations = Array.from({ length: 5 }, () => slowPost('/oauth/device_authorization', 'client_id=demo-cli&scope=read'));
	await new Promise((resolve) => setTimeout(resolve, 300));

	const started = Date.now();
	const stopped = server.kill('SIGTERM');
	await new Promise((resolve) => setTimeout(resolve, 300));
	// Stopping: no new connection is accepted.
	await expect(fetch(`${server.origin}/healthz`)).rejects.toThrow();
	for (const inFlight of [...polls, ...creations]) inFlight.finish();

	for (const { answer } of polls) {
		const { status, body } = await answer;
		expect(status).toBe(400);
		expect(JSON.parse(body)).toEqual({ error: 'authorization_pending', error_description: 'Waiting for the code to be entered in a browser.' });
	}
	const created = await Promise.all(creations.map(async ({ answer }) => JSON.parse((await answer).body) as { device_code: string }));
	for (const code of created) expect(code.device_code).toMatch(/^[A-Za-z0-9_-]{43}$/);

	await stopped;
	expect(server.lastExit()).toEqual({ code: 0, signal: null });
	expect(Date.now() - started).toBeLessThan(10_000);
	expect(server.logs()).toContain('"msg":"doorcode stopping","signal":"SIGTERM"');

	// What was committed in flight survived the stop: the codes made during it are known after a restart.
	await server.restart();
	for (const code of created) {
		const poll = await fetch(`${server.origin}/oauth/token`, {
			method: 'POST',
			body: new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: code.device_code, client_id: 'demo-cli' })
		});
		expect(await poll.json()).toEqual({ error: 'authorization_pending', error_description: 'Waiting for the code to be entered in a browser.' });
	}
});
