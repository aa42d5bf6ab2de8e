import { expect, test } from '@playwright/test';
import { DEVICE_GRANT } from '../support/oauth.ts';
import { SERVERS } from '../support/servers.ts';

const limited = SERVERS.limited;

/** Each test speaks from its own address (the limited server believes one proxy hop). */
function from(ip: string) {
	return (path: string, body: string, server = limited) =>
		fetch(`${server.origin}${path}`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': ip },
			body
		});
}

async function expectLimited(response: Response) {
	expect(response.status).toBe(429);
	const retryAfter = Number(response.headers.get('retry-after'));
	expect(retryAfter).toBeGreaterThan(0);
	expect(retryAfter).toBeLessThanOrEqual(60);
	expect(response.headers.get('content-type')).toContain('application/json');
	const body = await response.json();
	expect(body.error).toBe('temporarily_unavailable');
	expect(body.error_description).toContain(`Retry after ${retryAfter} seconds.`);
}

test('new codes are limited per IP: the sixth in a minute answers 429 with Retry-After', async () => {
	const post = from('198.51.100.10');
	for (let i = 0; i < 5; i++) expect((await post('/oauth/device_authorization', 'client_id=demo-cli')).status).toBe(200);
	await expectLimited(await post('/oauth/device_authorization', 'client_id=demo-cli'));
	// Another address is not affected.
	expect((await from('198.51.100.11')('/oauth/device_authorization', 'client_id=demo-cli')).status).toBe(200);
});

test('new codes are limited per client, whatever the address', async () => {
	const answers = [];
	for (let i = 0; i < 9; i++) answers.push((await from(`198.51.100.${50 + i}`)('/oauth/device_authorization', 'client_id=narrow-cli')).status);
	expect(answers.slice(0, 8)).toEqual(Array(8).fill(200));
	await expectLimited(await from('198.51.100.70')('/oauth/device_authorization', 'client_id=narrow-cli'));
});

test('the token endpoint has a per-IP ceiling above slow_down: guessing device codes is refused with 429', async () => {
	const post = from('198.51.100.20');
	const statuses = [];
	for (let i = 0; i < 20; i++) {
		statuses.push((await post('/oauth/token', `grant_type=${encodeURIComponent(DEVICE_GRANT)}&client_id=demo-cli&device_code=guess-${i}`)).status);
	}
	expect(statuses).toEqual(Array(20).fill(400));
	await expectLimited(await post('/oauth/token', `grant_type=${encodeURIComponent(DEVICE_GRANT)}&client_id=demo-cli&device_code=guess-x`));
});

test('with TRUST_PROXY=0 (the default) X-Forwarded-For is not believed, so it cannot dodge a limit', async () => {
	const secure = SERVERS.secure;
	const statuses = [];
	for (let i = 0; i < 31; i++) statuses.push((await from(`203.0.113.${i}`)('/oauth/device_authorization', 'client_id=demo-cli', secure)).status);
	expect(statuses.slice(0, 30)).toEqual(Array(30).fill(200));
	expect(statuses[30]).toBe(429);
});
