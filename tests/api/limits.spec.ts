import { expect, test } from '@playwright/test';
import { ACME_API_BASIC, DEVICE_GRANT } from '../support/oauth.ts';
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

test('refused DPoP proofs count against the address like new codes: the sixth in a minute answers 429', async () => {
	const answers = [];
	for (let i = 0; i < 6; i++) {
		const response = await fetch(`${limited.origin}/oauth/device_authorization`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': '198.51.100.12', DPoP: 'not.a.proof' },
			body: 'client_id=demo-cli'
		});
		answers.push(response.status === 429 ? 429 : (await response.json()).error);
	}
	expect(answers).toEqual([...Array(5).fill('invalid_dpop_proof'), 429]);
});

test("a public client's limit counts per client and address: strangers asking in its name cannot lock its other users out", async () => {
	const answers = [];
	for (let i = 0; i < 12; i++) answers.push((await from(`198.51.100.${50 + i}`)('/oauth/device_authorization', 'client_id=narrow-cli')).status);
	expect(answers).toEqual(Array(12).fill(200));
	expect((await from('198.51.100.70')('/oauth/device_authorization', 'client_id=narrow-cli')).status).toBe(200);
});

test("a confidential client's limit counts every caller: only the holders of its secret can spend it", async () => {
	const asAcme = (ip: string) =>
		fetch(`${limited.origin}/oauth/device_authorization`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': ip, ...ACME_API_BASIC },
			body: 'scope=read'
		});
	const answers = [];
	for (let i = 0; i < 8; i++) answers.push((await asAcme(`198.51.100.${80 + i}`)).status);
	expect(answers).toEqual(Array(8).fill(200));
	await expectLimited(await asAcme('198.51.100.90'));
});

test('an IPv6 address counts as its /64: one host cannot spread its requests over its own addresses', async () => {
	const newCodes = [];
	for (let i = 1; i <= 6; i++) newCodes.push((await from(`2001:db8:6:4::${i}`)('/oauth/device_authorization', 'client_id=demo-cli')).status);
	expect(newCodes).toEqual([200, 200, 200, 200, 200, 429]);
	// The next /64 is another host.
	expect((await from('2001:db8:6:5::1')('/oauth/device_authorization', 'client_id=demo-cli')).status).toBe(200);
	const polls = [];
	for (let i = 1; i <= 21; i++) {
		polls.push(
			(await from(`2001:db8:7:4:${i}::1`)('/oauth/token', `grant_type=${encodeURIComponent(DEVICE_GRANT)}&client_id=demo-cli&device_code=guess-${i}`)).status
		);
	}
	expect(polls).toEqual([...Array(20).fill(400), 429]);
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
