import { expect, test } from '@playwright/test';
import * as client from 'openid-client';
import { ConfirmPage, DevicePage, DevIdentityProviderPage, LoginPage, signInAndDecide } from '../support/pages.ts';
import { discover, poll, readDatabase, requestCode, sleep } from '../support/oauth.ts';
import { SERVERS } from '../support/servers.ts';

const server = SERVERS.main;

test('a full ORCID login gives the polling CLI tokens that userinfo names as the ORCID iD, with the name profile releases', async ({ page }) => {
	const config = await discover(server, 'oidc-cli');
	const authorization = await client.initiateDeviceAuthorization(config, { scope: 'profile read' });
	const tokens = client.pollDeviceAuthorizationGrant(config, authorization);

	await signInAndDecide(page, authorization.user_code, { provider: 'ORCID' });
	await expect(page).toHaveURL(/\/device\/success\?code=[A-Z]{8}$/);
	await expect(page.getByRole('heading', { name: "You're signed in" })).toBeVisible();

	const granted = await tokens;
	expect(granted.token_type.toLowerCase()).toBe('bearer');
	expect(granted.scope).toBe('profile read');
	const userinfo = await fetch(`${server.origin}/oauth/userinfo`, { headers: { Authorization: `Bearer ${granted.access_token}` } });
	expect(await userinfo.json()).toEqual({
		sub: 'orcid:0000-0002-1825-0097',
		provider: 'orcid',
		name: 'Josiah Carberry',
		scope: 'profile read',
		client_id: 'oidc-cli'
	});
});

test('a full Clerk login gives tokens for the Clerk user id, with the email the provider vouched for', async ({ page }) => {
	const config = await discover(server, 'oidc-cli');
	const authorization = await client.initiateDeviceAuthorization(config, { scope: 'email read' });
	const tokens = client.pollDeviceAuthorizationGrant(config, authorization);

	await signInAndDecide(page, authorization.user_code, { provider: 'Clerk' });
	await expect(page).toHaveURL(/\/device\/success\?code=[A-Z]{8}$/);

	const granted = await tokens;
	const userinfo = await (await fetch(`${server.origin}/oauth/userinfo`, { headers: { Authorization: `Bearer ${granted.access_token}` } })).json();
	expect(userinfo).toMatchObject({ sub: 'clerk:user_2demoAlice0000000000000', provider: 'clerk', email: 'alice@lab.example', email_verified: true });
});

test('denying at the confirm page shows a device error and the CLI gets access_denied', async ({ page }) => {
	const code = await requestCode(server);
	await signInAndDecide(page, code.user_code, { decision: 'deny' });
	await expect(page).toHaveURL(/\/device\/error\?reason=denied$/);
	await expect(page.getByRole('heading', { name: 'Sign-in denied' })).toBeVisible();
	await expect(page.getByText('run the login command on your device again')).toBeVisible();

	const answer = await poll(server, code.device_code);
	expect(answer.status).toBe(400);
	expect(answer.body).toEqual({ error: 'access_denied', error_description: 'The request was denied in the browser.' });
});

test('Cancel at the provider lands on /device/error and the CLI next hears access_denied', async ({ page }) => {
	const code = await requestCode(server);
	const device = new DevicePage(page);
	await device.open();
	await device.enterCode(code.user_code);
	await new LoginPage(page).signInWith('ORCID');
	await new DevIdentityProviderPage(page).cancel();

	await expect(page).toHaveURL(/\/device\/error\?reason=provider_denied$/);
	await expect(page.getByRole('heading', { name: 'Sign-in cancelled at the provider' })).toBeVisible();
	const answer = await poll(server, code.device_code);
	expect(answer.body).toEqual({ error: 'access_denied', error_description: 'The sign-in was cancelled or refused at the identity provider.' });
	const stored = readDatabase(server, (db) =>
		db.prepare('SELECT status, denial_reason FROM device_authorizations WHERE user_code = ?').get(code.user_code.replace('-', ''))
	);
	expect(stored).toEqual({ status: 'denied', denial_reason: 'provider_denied' });
});

test('a provider callback with no state during a device login lands on /device/error, not a generic error, and decides nothing', async ({ page }) => {
	const code = await requestCode(server);
	const device = new DevicePage(page);
	await device.open();
	await device.enterCode(code.user_code);
	// The code must be accepted (its cookie set) before the forged callback arrives.
	await expect(page).toHaveURL(/\/login\?return_to=%2Fdevice%2Fconfirm$/);
	await page.goto('/login/orcid/callback?code=forged');

	await expect(page).toHaveURL(/\/device\/error\?reason=state$/);
	await expect(page.getByRole('heading', { name: 'The sign-in could not be completed' })).toBeVisible();
	// Only the provider's answer to this browser's own sign-in (its state) may deny the code.
	expect((await poll(server, code.device_code)).body).toEqual({ error: 'authorization_pending', error_description: 'Waiting for approval in the browser.' });
});

test('an unknown code and an expired code get the same message, so the page is no guessing oracle', async ({ page }) => {
	const device = new DevicePage(page);
	await device.open();
	await device.enterCode('BCDF-GHJK');
	const unknownMessage = await page.getByRole('alert').textContent();
	expect(unknownMessage).toContain('That code is not valid or no longer active');

	const expired = await requestCode(SERVERS.shortLived);
	await sleep(2100);
	await page.goto(`${SERVERS.shortLived.origin}/device`);
	await device.enterCode(expired.user_code);
	expect(await page.getByRole('alert').textContent()).toBe(unknownMessage);
});

test('typed codes are normalised: lower case, spaces and no dash still match', async ({ page }) => {
	const code = await requestCode(server);
	const device = new DevicePage(page);
	await device.open();
	await device.enterCode(` ${code.user_code.replace('-', ' ').toLowerCase()} `);
	await expect(page).toHaveURL(/\/login\?return_to=%2Fdevice%2Fconfirm$/);
	expect((await poll(server, code.device_code)).body.error_description).toBe('Waiting for approval in the browser.');
});

test('a pre-filled code fills the field but approves nothing by itself', async ({ page }) => {
	const code = await requestCode(server);
	await page.goto(code.verification_uri_complete.replace(server.origin, ''));
	await page.waitForLoadState('networkidle');
	const device = new DevicePage(page);
	await expect(device.codeField).toHaveValue(code.user_code);
	expect((await poll(server, code.device_code)).body).toEqual({
		error: 'authorization_pending',
		error_description: 'Waiting for the code to be entered in a browser.'
	});

	await page.getByRole('button', { name: 'Continue' }).click();
	await new LoginPage(page).signInWith('ORCID');
	await new DevIdentityProviderPage(page).signIn();
	await new ConfirmPage(page).expectCode(code.user_code);
	await sleep(1100);
	expect((await poll(server, code.device_code)).body.error).toBe('authorization_pending');
});
