import { expect, test } from '@playwright/test';
import { AdminPage } from '../support/admin.ts';
import { poll, requestCode, sleep, userinfo } from '../support/oauth.ts';
import { DevicePage, DevIdentityProviderPage, LoginPage, signInAndDecide } from '../support/pages.ts';
import { screenshotPath } from '../support/screenshots.ts';
import { SERVERS } from '../support/servers.ts';

const server = SERVERS.main;

test('an admin approves a code for an email owner with a label and one of two scopes; the owner later sees it', async ({ page, browser }) => {
	const code = await requestCode(server, { client_id: 'demo-cli', scope: 'read write' });
	const admin = new AdminPage(page);
	await admin.open();
	await expect(page.getByRole('link', { name: `Review ${code.user_code}` })).toBeVisible();
	await admin.lookUp(code.user_code.toLowerCase().replace('-', ' '));
	await page.screenshot({ path: screenshotPath('admin-approve'), fullPage: true });
	await admin.approve({ owner: '  Tech@Lab.Example ', label: 'Lab bench 3', scopes: { read: true, write: false } });

	const answer = await poll(server, code.device_code);
	expect(answer.status).toBe(200);
	expect(answer.body).toMatchObject({ scope: 'read', sub: 'email:tech@lab.example', approved_by: 'orcid:0000-0001-5109-3700' });
	const me = await (await userinfo(server, answer.body.access_token)).json();
	// Not granted email, so no address; approved on the owner's behalf, so the admin is named as the actor.
	expect(me).toEqual({
		sub: 'email:tech@lab.example',
		provider: 'email',
		scope: 'read',
		client_id: 'demo-cli',
		act: { sub: 'orcid:0000-0001-5109-3700' },
		approved_by: 'orcid:0000-0001-5109-3700'
	});

	await admin.open();
	const grants = page.getByRole('table', { name: 'Active grants' });
	await expect(grants.getByRole('row').filter({ hasText: 'Lab bench 3' }).first()).toContainText('email:tech@lab.example');
	await expect(admin.auditEntriesFor(code.user_code).filter({ hasText: 'device.approved_on_behalf' })).toContainText('orcid:0000-0001-5109-3700');
	await page.screenshot({ path: screenshotPath('admin'), fullPage: true });

	// The owner signs in for the first time, with the Clerk account whose verified email is tech@lab.example.
	const owner = await (await browser.newContext()).newPage();
	await owner.goto(`${server.origin}/account`);
	await new LoginPage(owner).signInWith('Clerk');
	await new DevIdentityProviderPage(owner).signIn('Lab Technician');
	await expect(owner).toHaveURL(/\/account$/);
	const device = owner.getByRole('list', { name: 'Approved devices' }).getByRole('listitem').filter({ hasText: 'Lab bench 3' });
	await expect(device).toContainText('Demo CLI');
	await expect(device).toContainText('orcid:0000-0001-5109-3700');
	await owner.close();
});

test('an admin denies a code and the CLI gets access_denied; the audit log records it', async ({ page }) => {
	const code = await requestCode(server);
	const admin = new AdminPage(page);
	await admin.open();
	await admin.lookUp(code.user_code);
	await admin.deny();
	expect((await poll(server, code.device_code)).body).toEqual({ error: 'access_denied', error_description: 'An administrator denied the request.' });
	await page.reload();
	await expect(admin.auditEntriesFor(code.user_code).first()).toContainText('device.denied_by_admin');
});

test('an admin never grants more than was requested, even by a forged form', async ({ page }) => {
	const code = await requestCode(server, { client_id: 'demo-cli', scope: 'read' });
	const admin = new AdminPage(page);
	await admin.open();
	await admin.lookUp(code.user_code);
	await page.evaluate(() => {
		const box = document.querySelector('input[name=scope]') as HTMLInputElement;
		box.value = 'write';
	});
	await page.getByLabel('Owner', { exact: true }).fill('tech@lab.example');
	await page.getByRole('button', { name: 'Approve' }).click();
	await expect(page.getByRole('alert')).toContainText('Grant at least one of the requested scopes');
});

test('a signed-in non-admin gets a clear 403; a signed-out visitor is sent to sign in and back', async ({ page }) => {
	const response = await page.goto('/admin');
	await expect(page).toHaveURL(/\/login\?return_to=%2Fadmin$/);
	expect(response?.status()).toBe(200);

	const code = await requestCode(server);
	await signInAndDecide(page, code.user_code);
	const forbidden = await page.goto('/admin');
	expect(forbidden?.status()).toBe(403);
	await expect(page.getByRole('heading', { name: 'Not allowed' })).toBeVisible();
	await expect(page.getByText('This page is for doorcode admins')).toBeVisible();
});

test('a provider refusal and a revocation from /account reach the audit log', async ({ page, browser }) => {
	const code = await requestCode(server);
	const device = new DevicePage(page);
	await device.open();
	await device.enterCode(code.user_code);
	await new LoginPage(page).signInWith('ORCID');
	await new DevIdentityProviderPage(page).cancel();
	await expect(page).toHaveURL(/\/device\/error/);

	const adminPage = await (await browser.newContext()).newPage();
	const admin = new AdminPage(adminPage);
	await adminPage.goto(server.origin);
	await admin.open();
	const row = admin.auditEntriesFor(code.user_code);
	await expect(row.first()).toContainText('device.provider_refused');
	await expect(admin.auditLog()).not.toContainText(code.device_code);
	await adminPage.close();
	await sleep(0);
});
