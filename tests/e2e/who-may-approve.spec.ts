import { expect, test, type Page } from '@playwright/test';
import { AdminPage } from '../support/admin.ts';
import { poll, readDatabase, requestCode, sleep, userinfo } from '../support/oauth.ts';
import { ConfirmPage, DevicePage, DevIdentityProviderPage, LoginPage } from '../support/pages.ts';
import { SERVERS } from '../support/servers.ts';

/**
 * SPEC "Who may approve": `lab-cli` in tests/fixtures/clients.json admits only people with a
 * verified email address at lab.example. The local identity provider's Clerk users have one;
 * its ORCID users have no email address at all.
 */

const server = SERVERS.main;
const REASON = 'Only people with a verified email address at lab.example may approve for this application. This account has no verified email address.';

/** Josiah Carberry (ORCID, no email address) opens a Lab CLI code. */
async function openAsOrcidUser(page: Page, userCode: string) {
	const device = new DevicePage(page);
	await device.open();
	await device.enterCode(userCode);
	await new LoginPage(page).signInWith('ORCID');
	await new DevIdentityProviderPage(page).signIn('Josiah Carberry');
	const confirm = new ConfirmPage(page);
	await confirm.expectRefused('Lab CLI');
	return confirm;
}

const storedCode = (userCode: string) =>
	readDatabase(server, (db) => db.prepare('SELECT status, confirming_user_id FROM device_authorizations WHERE user_code = ?').get(userCode.replace('-', '')));

test('someone the rule refuses sees why, with no Approve; the code stays pending and unclaimed; another account then approves it', async ({ page }) => {
	const code = await requestCode(server, { client_id: 'lab-cli' });
	const confirm = await openAsOrcidUser(page, code.user_code);
	await expect(page.getByRole('alert')).toContainText(REASON);
	await expect(page.getByText(code.user_code, { exact: true })).toBeVisible();
	await expect(page.getByRole('button', { name: 'Deny' })).toBeVisible();
	expect(storedCode(code.user_code)).toEqual({ status: 'pending', confirming_user_id: null });
	await sleep(1100);
	expect((await poll(server, code.device_code, 'lab-cli')).body).toMatchObject({ error: 'authorization_pending' });

	await confirm.signInWithAnotherAccount();
	await expect(page).toHaveURL(/\/login\?return_to=%2Fdevice%2Fconfirm&another_account=1$/);
	await expect(page.getByText('Choose the account to sign in with.')).toBeVisible();
	// Clerk is asked to authenticate the person again, not to sign the same account straight back in.
	const authorizationRequest = page.waitForRequest((request) => {
		const url = new URL(request.url());
		return url.origin !== server.origin && url.pathname === '/oauth/authorize';
	});
	await new LoginPage(page).signInWith('Clerk');
	expect(new URL((await authorizationRequest).url()).searchParams.get('prompt')).toBe('login');
	await new DevIdentityProviderPage(page).signIn('Alice Example');
	await confirm.expectCode(code.user_code);
	await confirm.approve();
	await expect(page).toHaveURL(/\/device\/success\?code=[A-Z]{8}$/);

	await sleep(1100);
	const tokens = await poll(server, code.device_code, 'lab-cli');
	expect(tokens.status).toBe(200);
	expect(await (await userinfo(server, (tokens.body as { access_token: string }).access_token)).json()).toMatchObject({
		sub: 'clerk:user_2demoAlice0000000000000',
		client_id: 'lab-cli'
	});
});

test('an Approve forged into the page by someone the rule refuses changes nothing and is refused with the same message', async ({ page }) => {
	const code = await requestCode(server, { client_id: 'lab-cli' });
	await openAsOrcidUser(page, code.user_code);
	// After hydration: a re-render would drop the injected button.
	await page.waitForLoadState('networkidle');
	await page.evaluate(() => {
		const form = document.querySelector('form.actions') as HTMLFormElement;
		const forged = document.createElement('button');
		forged.type = 'submit';
		forged.formAction = '?/approve';
		forged.textContent = 'Forged approve';
		form.append(forged);
	});
	const answered = page.waitForResponse((response) => response.request().method() === 'POST');
	await page.getByRole('button', { name: 'Forged approve' }).click();
	expect((await answered).status()).toBe(403);
	await expect(page.getByRole('alert')).toContainText(REASON);
	await expect(page.getByRole('button', { name: 'Approve', exact: true })).toHaveCount(0);

	expect(storedCode(code.user_code)).toEqual({ status: 'pending', confirming_user_id: null });
	await sleep(1100);
	expect((await poll(server, code.device_code, 'lab-cli')).body).toMatchObject({ error: 'authorization_pending' });
	const refusals = readDatabase(server, (db) =>
		db.prepare("SELECT detail FROM audit_log WHERE action = 'device.approve_refused' AND user_code = ? ORDER BY id").all(code.user_code.replace('-', ''))
	);
	// One for opening the page, one for the forged Approve (the page shown again after it writes none).
	expect(refusals).toEqual([{ detail: REASON }, { detail: `Approve was sent anyway. ${REASON}` }]);
});

test('someone the rule refuses may still deny; /admin shows the refusal in its audit log', async ({ page, browser }) => {
	const code = await requestCode(server, { client_id: 'lab-cli' });
	const confirm = await openAsOrcidUser(page, code.user_code);
	await confirm.deny();
	await expect(page).toHaveURL(/\/device\/error\?reason=denied$/);
	await sleep(1100);
	expect((await poll(server, code.device_code, 'lab-cli')).body).toEqual({
		error: 'access_denied',
		error_description: 'The request was denied in the browser.'
	});

	const adminPage = await (await browser.newContext({ baseURL: server.origin })).newPage();
	const admin = new AdminPage(adminPage);
	await admin.open();
	const refusal = admin.auditEntriesFor(code.user_code).filter({ hasText: 'device.approve_refused' });
	await expect(refusal).toHaveCount(1);
	await expect(refusal).toContainText('orcid:0000-0002-1825-0097');
	await expect(refusal).toContainText(REASON);
	await adminPage.close();
});

test('an admin approving on behalf may name only an owner the rule admits: an address elsewhere gets a clear error', async ({ page }) => {
	const code = await requestCode(server, { client_id: 'lab-cli' });
	const admin = new AdminPage(page);
	await admin.open();
	await admin.lookUp(code.user_code);
	await expect(page.getByText('Its owner must be one the client admits: people with a verified email address at lab.example.')).toBeVisible();
	await page.getByLabel('Owner', { exact: true }).fill('tech@other.example');
	await page.getByRole('button', { name: 'Approve' }).click();
	await expect(page.getByRole('alert')).toContainText('tech@other.example cannot own a login to Lab CLI.');
	expect(storedCode(code.user_code)).toMatchObject({ status: 'pending' });

	await admin.approve({ owner: 'tech@lab.example', label: 'Bench 3', scopes: { read: true } });
	await sleep(1100);
	expect((await poll(server, code.device_code, 'lab-cli')).status).toBe(200);
});
