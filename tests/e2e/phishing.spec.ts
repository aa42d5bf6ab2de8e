import { expect, test } from '@playwright/test';
import { form, poll, requestCode, sleep } from '../support/oauth.ts';
import { ConfirmPage, DevicePage, DevIdentityProviderPage, LoginPage } from '../support/pages.ts';
import { AdminPage } from '../support/admin.ts';
import { SERVERS } from '../support/servers.ts';

const server = SERVERS.main;

async function openConfirm(page: import('@playwright/test').Page, userCode: string, user?: string) {
	const device = new DevicePage(page);
	await device.open();
	await device.enterCode(userCode);
	await new LoginPage(page).signInWith('ORCID');
	await new DevIdentityProviderPage(page).signIn(user);
	await new ConfirmPage(page).expectCode(userCode);
}

function codeFrom(ip: string) {
	return fetch(`${server.origin}/oauth/device_authorization`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': ip },
		body: 'client_id=demo-cli&scope=read'
	}).then((r) => r.json());
}

test('the confirm page shows client, scopes in plain words, age and address, and warns when the address is not the browser’s', async ({ page }) => {
	const code = await codeFrom('203.0.113.9');
	await openConfirm(page, code.user_code);
	await expect(page.getByRole('heading', { name: 'Approve sign-in for Demo CLI?' })).toBeVisible();
	await expect(page.getByText('read your data')).toBeVisible();
	await expect(page.getByText('less than a minute ago')).toBeVisible();
	await expect(page.getByTestId('address-warning')).toContainText('requested from 203.0.113.9, but this browser is on 127.0.0.1');
});

test('no address warning when the code was asked for from the browser’s own address', async ({ page }) => {
	const code = await requestCode(server);
	await openConfirm(page, code.user_code);
	await expect(page.getByTestId('address-warning')).toHaveCount(0);
});

test('“I didn’t start this” denies the code, reports it, and refuses new codes from the requesting address', async ({ page, browser }) => {
	const code = await codeFrom('203.0.113.77');
	await openConfirm(page, code.user_code);
	await page.getByRole('button', { name: "I didn't start this" }).click();
	await expect(page).toHaveURL(/\/device\/error\?reason=reported$/);
	await expect(page.getByRole('heading', { name: 'Thank you: the login was stopped' })).toBeVisible();

	await sleep(1100);
	expect((await poll(server, code.device_code)).body).toEqual({
		error: 'access_denied',
		error_description: 'The person at the browser reported that they did not start this login.'
	});
	const again = await form(server, '/oauth/device_authorization', { client_id: 'demo-cli' }, { 'X-Forwarded-For': '203.0.113.77' });
	expect(again.status).toBe(429);
	expect(again.body.error_description).toMatch(/reported/);
	expect((await form(server, '/oauth/device_authorization', { client_id: 'demo-cli' }, { 'X-Forwarded-For': '203.0.113.78' })).status).toBe(200);

	const adminPage = await (await browser.newContext({ baseURL: server.origin })).newPage();
	const admin = new AdminPage(adminPage);
	await admin.open();
	await expect(admin.auditEntriesFor(code.user_code).first()).toContainText('device.reported');
	await adminPage.close();
});

test('a code can be confirmed by one signed-in person only', async ({ page, browser }) => {
	const code = await requestCode(server);
	await openConfirm(page, code.user_code, 'Josiah Carberry');

	const other = await (await browser.newContext({ baseURL: server.origin })).newPage();
	const device = new DevicePage(other);
	await device.open();
	await device.enterCode(code.user_code);
	await new LoginPage(other).signInWith('ORCID');
	await new DevIdentityProviderPage(other).signIn('Laure Haak');
	await expect(other).toHaveURL(/\/device\/error\?reason=claimed$/);
	await expect(other.getByRole('heading', { name: 'Someone else is confirming this code' })).toBeVisible();
	await other.close();

	await new ConfirmPage(page).approve();
	await expect(page).toHaveURL(/\/device\/success/);
});

test('a pre-filled link never approves: it only fills the field', async ({ page }) => {
	const code = await requestCode(server);
	await page.goto(`/device?user_code=${code.user_code}`);
	await expect(page.getByLabel('Code', { exact: true })).toHaveValue(code.user_code);
	await expect(page.getByRole('button', { name: 'Approve' })).toHaveCount(0);
});

test.describe('a client with address_mismatch "refuse" (strict-cli)', () => {
	const strictCode = (ip: string) =>
		form(server, '/oauth/device_authorization', { client_id: 'strict-cli' }, { 'X-Forwarded-For': ip }).then((answer) => answer.body);

	test('a code requested from another loopback address than the browser’s can only be denied; a forged Approve changes nothing', async ({ page }) => {
		// Asked for from 127.0.0.2 (one proxy hop says so); the browser reaches the server from 127.0.0.1.
		const code = await strictCode('127.0.0.2');
		await openConfirm(page, code.user_code);
		await expect(page.getByTestId('address-refusal')).toContainText('This code cannot be approved from here.');
		await expect(page.getByTestId('address-refusal')).toContainText('it was requested from 127.0.0.2, and this browser is on 127.0.0.1');
		await expect(page.getByRole('button', { name: 'Approve' })).toHaveCount(0);
		await expect(page.getByRole('button', { name: 'Deny' })).toBeVisible();

		// The Approve the page does not offer, forged into it: refused (403), the page says why again, the code still pending.
		// After hydration: a re-render would drop the injected button.
		await page.waitForLoadState('networkidle');
		await page.evaluate(() => {
			const forged = document.createElement('button');
			forged.type = 'submit';
			forged.formAction = '?/approve';
			forged.textContent = 'Forged approve';
			(document.querySelector('form.actions') as HTMLFormElement).append(forged);
		});
		const answered = page.waitForResponse((response) => response.request().method() === 'POST');
		await page.getByRole('button', { name: 'Forged approve' }).click();
		expect((await answered).status()).toBe(403);
		await expect(page.getByTestId('address-refusal')).toContainText('This code cannot be approved from here.');
		await expect(page.getByRole('button', { name: 'Approve', exact: true })).toHaveCount(0);
		await sleep(1100);
		expect((await poll(server, code.device_code, 'strict-cli')).body).toEqual({
			error: 'authorization_pending',
			error_description: 'Waiting for approval in the browser.'
		});

		await new ConfirmPage(page).deny();
		await expect(page).toHaveURL(/\/device\/error\?reason=denied$/);
		await sleep(1100);
		expect((await poll(server, code.device_code, 'strict-cli')).body).toEqual({
			error: 'access_denied',
			error_description: 'The request was denied in the browser.'
		});
	});

	test('a code requested from the browser’s own address is approved as usual', async ({ page }) => {
		const code = await strictCode('127.0.0.1');
		await openConfirm(page, code.user_code);
		await expect(page.getByTestId('address-refusal')).toHaveCount(0);
		await new ConfirmPage(page).approve();
		await expect(page).toHaveURL(/\/device\/success/);
		await sleep(1100);
		expect((await poll(server, code.device_code, 'strict-cli')).status).toBe(200);
	});
});
