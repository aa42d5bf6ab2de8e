import { expect, test } from '@playwright/test';
import { ACME_API_BASIC, approvedTokens, form, poll, requestCode, sleep, userinfo } from '../support/oauth.ts';
import { signInAndDecide } from '../support/pages.ts';
import { SERVERS } from '../support/servers.ts';

const server = SERVERS.main;

test('the account page lists an approved device, and Revoke makes its tokens inactive at once', async ({ page }) => {
	const tokens = await approvedTokens(page, server, 'narrow-cli');
	await page.goto('/account');
	const devices = page.getByRole('list', { name: 'Approved devices' });
	const narrow = devices.getByRole('listitem').filter({ hasText: 'Narrow CLI' });
	await expect(narrow).toHaveCount(1);
	await expect(narrow.getByText('read', { exact: true })).toBeVisible();
	await expect(narrow.getByText('127.0.0.1').first()).toBeVisible();
	expect((await userinfo(server, tokens.access_token)).status).toBe(200);

	await devices.getByRole('button', { name: 'Revoke Narrow CLI' }).click();
	await expect(devices.getByText('Narrow CLI')).toHaveCount(0);
	expect((await userinfo(server, tokens.access_token)).status).toBe(401);
	expect((await form(server, '/oauth/introspect', { token: tokens.access_token }, ACME_API_BASIC)).body).toEqual({ active: false });
});

test('a personal access token is shown once, works at userinfo and introspection, and is revoked from the list', async ({ page }) => {
	await approvedTokens(page, server);
	await page.goto('/account');
	await page.getByLabel('Name').fill('CI deploy');
	await page.getByRole('checkbox', { name: 'read' }).check();
	await page.getByLabel('Expires after').selectOption('7');
	await page.getByRole('button', { name: 'Create token' }).click();
	const shown = page.getByRole('textbox', { name: 'New token' });
	await expect(shown).toHaveValue(/^dcp_[A-Za-z0-9_-]{43}$/);
	const token = await shown.inputValue();

	const me = await userinfo(server, token);
	expect(me.status).toBe(200);
	expect(await me.json()).toMatchObject({ sub: 'orcid:0000-0002-1825-0097', scope: 'read', client_id: 'personal-access-token' });
	const live = await form(server, '/oauth/introspect', { token }, ACME_API_BASIC);
	expect(live.body).toMatchObject({ active: true, scope: 'read' });
	expect(live.body.exp - live.body.iat).toBe(7 * 86400);

	await page.reload();
	await expect(page.getByRole('textbox', { name: 'New token' })).toHaveCount(0);
	const list = page.getByRole('list', { name: 'Personal access tokens' });
	await expect(list.getByText('CI deploy')).toBeVisible();
	await list.getByRole('button', { name: 'Revoke CI deploy' }).click();
	await expect(list.getByText('CI deploy')).toHaveCount(0);
	expect((await userinfo(server, token)).status).toBe(401);
});

test('the success page shows when and from where the CLI collected its tokens, live', async ({ page }) => {
	const code = await requestCode(server);
	await signInAndDecide(page, code.user_code);
	await expect(page.getByTestId('pickup')).toContainText('Waiting for your device');
	await sleep(1100);
	expect((await poll(server, code.device_code)).status).toBe(200);
	await expect(page.getByTestId('pickup')).toContainText('collected its tokens at', { timeout: 6000 });
	await expect(page.getByTestId('pickup')).toContainText('127.0.0.1');
	await expect(page.getByRole('alert')).toHaveCount(0);
});

test('the success page warns plainly when the tokens were collected from another address than asked', async ({ page }) => {
	const asked = await fetch(`${server.origin}/oauth/device_authorization`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': '203.0.113.5' },
		body: 'client_id=demo-cli'
	});
	const code = await asked.json();
	await signInAndDecide(page, code.user_code);
	await sleep(1100);
	const collected = await form(
		server,
		'/oauth/token',
		{ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: code.device_code, client_id: 'demo-cli' },
		{ 'X-Forwarded-For': '198.51.100.9' }
	);
	expect(collected.status).toBe(200);
	await page.reload();
	await expect(page.getByTestId('pickup')).toContainText('198.51.100.9');
	await expect(page.getByRole('alert')).toContainText('not from 203.0.113.5');
});
