import { expect, test, type Browser, type Page } from '@playwright/test';
import { AdminPage } from '../support/admin.ts';
import { poll, readDatabase, requestCode, sleep } from '../support/oauth.ts';
import { ConfirmPage, DevicePage, DevIdentityProviderPage, LoginPage } from '../support/pages.ts';
import { SERVERS, type TestServer } from '../support/servers.ts';

/** The security review's findings (issue "Close the side doors"), each as an attacker or a new user meets it. */

const main = SERVERS.main;
const limited = SERVERS.limited;

async function signedInBrowser(browser: Browser, server: TestServer, address: string, user = 'Laure Haak'): Promise<Page> {
	const context = await browser.newContext({ baseURL: server.origin, extraHTTPHeaders: { 'X-Forwarded-For': address } });
	const page = await context.newPage();
	await page.goto('/login?return_to=%2Faccount');
	await new LoginPage(page).signInWith('ORCID');
	await new DevIdentityProviderPage(page).signIn(user);
	await expect(page).toHaveURL(/\/account$/);
	return page;
}

function plantDeviceCookie(page: Page, server: TestServer, value: string) {
	return page.context().addCookies([{ name: 'doorcode_device', value, url: server.origin }]);
}

const countAudit = (server: TestServer, action: string, ip: string) =>
	readDatabase(
		server,
		(db) => db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM audit_log WHERE action = ? AND ip = ?').get(action, ip)?.n
	);

test('a planted device-login cookie claims no code: the real code in it names nothing, forged handles count as wrong codes', async ({ browser }) => {
	const address = '198.51.100.40';
	const victim = await requestCode(limited);
	const attacker = await signedInBrowser(browser, limited, address);

	// The old attack: the user code itself in the cookie. It is not a handle, so it names nothing.
	await plantDeviceCookie(attacker, limited, victim.user_code.replace('-', ''));
	await attacker.goto('/device/confirm');
	await expect(attacker).toHaveURL(/\/device$/);

	// Forged handles are refused like wrong codes: three (RATE_LIMIT_CODE_ENTRY=3/60 here), then a wait.
	for (let i = 0; i < 3; i++) {
		await plantDeviceCookie(attacker, limited, `forged${i}`.padEnd(43, 'A'));
		await attacker.goto('/device/confirm');
		await expect(attacker).toHaveURL(/\/device\/error\?reason=(expired|limited)$/);
	}
	await plantDeviceCookie(attacker, limited, 'forged-last'.padEnd(43, 'A'));
	await attacker.goto('/device/confirm');
	await expect(attacker).toHaveURL(/\/device\/error\?reason=limited$/);
	await expect(attacker.getByRole('heading', { name: 'Too many wrong codes' })).toBeVisible();

	// The same limit now holds for the form: even the right code waits.
	const device = new DevicePage(attacker);
	await device.open();
	await device.enterCode(victim.user_code);
	await expect(attacker.getByRole('alert')).toContainText('Too many wrong codes');

	// The victim's code is untouched and unclaimed; every refusal is in the audit log.
	await sleep(1100);
	expect((await poll(limited, victim.device_code)).body).toEqual({
		error: 'authorization_pending',
		error_description: 'Waiting for the code to be entered in a browser.'
	});
	expect(countAudit(limited, 'device.code_refused', address)).toBe(3);
	expect(countAudit(limited, 'ratelimit.refused', address)).toBeGreaterThanOrEqual(1);
	await attacker.context().close();
});

test('a callback with a forged state, from a browser that never signed in, lands on /device/error and denies nothing', async ({ browser }) => {
	const code = await requestCode(main);
	const context = await browser.newContext({ baseURL: main.origin });
	const page = await context.newPage();
	const device = new DevicePage(page);
	await device.open();
	await device.enterCode(code.user_code);
	await expect(page).toHaveURL(/\/login/);

	await page.goto('/login/orcid/callback?error=access_denied&state=anything');
	await expect(page).toHaveURL(/\/device\/error\?reason=state$/);
	await sleep(1100);
	expect((await poll(main, code.device_code)).body).toEqual({ error: 'authorization_pending', error_description: 'Waiting for approval in the browser.' });
	await context.close();
});

test('a provider refusal forged with the attacker’s own state cannot deny a code someone else is confirming', async ({ page, browser }) => {
	const code = await requestCode(main);
	const victim = new DevicePage(page);
	await victim.open();
	await victim.enterCode(code.user_code);
	await new LoginPage(page).signInWith('ORCID');
	await new DevIdentityProviderPage(page).signIn('Josiah Carberry');
	await new ConfirmPage(page).expectCode(code.user_code);

	// The attacker knows the code, enters it, starts a sign-in of their own and forges its refusal.
	const attackerContext = await browser.newContext({ baseURL: main.origin });
	const attacker = await attackerContext.newPage();
	const device = new DevicePage(attacker);
	await device.open();
	await device.enterCode(code.user_code);
	const signIn = await attacker.request.get('/login/orcid', { maxRedirects: 0 });
	const state = new URL(signIn.headers().location).searchParams.get('state');
	expect(state).toBeTruthy();
	await attacker.goto(`/login/orcid/callback?error=access_denied&state=${state}`);
	await expect(attacker).toHaveURL(/\/device\/error\?reason=provider_denied$/);
	await attackerContext.close();

	await new ConfirmPage(page).approve();
	await expect(page).toHaveURL(/\/device\/success/);
	await sleep(1100);
	expect((await poll(main, code.device_code)).status).toBe(200);
});

test('a cross-site page that sends the person on the confirm page to a forged callback decides nothing', async ({ page }) => {
	const code = await requestCode(main);
	const device = new DevicePage(page);
	await device.open();
	await device.enterCode(code.user_code);
	await new LoginPage(page).signInWith('ORCID');
	await new DevIdentityProviderPage(page).signIn('Josiah Carberry');
	await new ConfirmPage(page).expectCode(code.user_code);

	// A page on another site navigates the browser (a top-level GET carries SameSite=Lax cookies).
	await page.route('http://attacker.example/**', (route) =>
		route.fulfill({
			contentType: 'text/html',
			body: `<script>location.href = ${JSON.stringify(`${main.origin}/login/orcid/callback?error=access_denied`)};</script>`
		})
	);
	await page.goto('http://attacker.example/');
	await expect(page).toHaveURL(/\/device\/error\?reason=state$/);
	await sleep(1100);
	expect((await poll(main, code.device_code)).body.error).toBe('authorization_pending');

	await page.goto('/device/confirm');
	await new ConfirmPage(page).approve();
	await expect(page).toHaveURL(/\/device\/success/);
	await sleep(1100);
	expect((await poll(main, code.device_code)).status).toBe(200);
});

test('the success page tells only the person who approved that the device is approved', async ({ browser }) => {
	const context = await browser.newContext({ baseURL: main.origin });
	const page = await context.newPage();
	await page.goto('/device/success?code=ZZZZZZZZ');
	await expect(page.getByRole('heading', { name: 'Nothing to show here' })).toBeVisible();
	await expect(page.getByText('The device is approved')).toHaveCount(0);
	await context.close();
});

test('a return address with control characters is dropped, not a 500 after signing in', async ({ browser }) => {
	for (const returnTo of ['%2F%0B%2Fx', '%2F%7F', '%2F%00x', '%2F%1Bx', '%2F%E2%80%A8x']) {
		const context = await browser.newContext({ baseURL: main.origin });
		const page = await context.newPage();
		await page.goto(`/login?return_to=${returnTo}`);
		await new LoginPage(page).signInWith('ORCID');
		const landing = page.waitForResponse((response) => new URL(response.url()).pathname.startsWith('/login/orcid/callback'));
		await new DevIdentityProviderPage(page).signIn();
		expect((await landing).status()).toBe(303);
		await expect(page).toHaveURL(/\/account$/);
		await context.close();
	}
});

test('a code typed before the page’s scripts load is kept when they load', async ({ page }) => {
	let release: () => void = () => {};
	const scriptsHeld = new Promise<void>((resolve) => (release = resolve));
	await page.route('**/_app/immutable/**/*.js', async (route) => {
		await scriptsHeld;
		await route.continue();
	});
	await page.goto('/device', { waitUntil: 'domcontentloaded' });
	await page.getByLabel('Code', { exact: true }).fill('BCDF-GHJK');
	release();
	await page.waitForLoadState('networkidle');
	// Hydration is done once the enhanced form answers without a page load: wait for it to settle.
	await sleep(500);
	await expect(page.getByLabel('Code', { exact: true })).toHaveValue('BCDF-GHJK');
});

test('an approved device can be revoked at /account before its CLI collects the tokens; the CLI then hears access_denied', async ({ page, browser }) => {
	const code = await requestCode(main);
	const admin = new AdminPage(page);
	await admin.open();
	await admin.lookUp(code.user_code);
	await admin.approve({ owner: 'bob@lab.example', label: 'Uncollected bench', scopes: { read: true, write: true } });
	await expect(page).toHaveURL(/\/admin$/);
	await expect(page.getByText('That code is not pending')).toHaveCount(0);

	const owner = await (await browser.newContext({ baseURL: main.origin })).newPage();
	await owner.goto('/account');
	await new LoginPage(owner).signInWith('Clerk');
	await new DevIdentityProviderPage(owner).signIn('Bob Example');
	const item = owner.getByRole('list', { name: 'Approved devices' }).getByRole('listitem').filter({ hasText: 'Uncollected bench' });
	await expect(item).toContainText('not yet');
	await item.getByRole('button', { name: /^Revoke Demo CLI Uncollected bench before it is collected$/ }).click();
	await expect(item).toHaveCount(0);
	await owner.close();

	expect((await poll(main, code.device_code)).body).toEqual({
		error: 'access_denied',
		error_description: 'The approval was revoked before the device collected its tokens.'
	});
	await admin.open();
	await expect(admin.auditEntriesFor(code.user_code).filter({ hasText: 'device.approval_revoked' })).toContainText('clerk:user_2demoBob');
});

test('an approval the CLI collected while the page was open is not "already revoked": the page says so and revokes the login itself', async ({
	page,
	browser
}) => {
	const code = await requestCode(main);
	const admin = new AdminPage(page);
	await admin.open();
	await admin.lookUp(code.user_code);
	await admin.approve({ owner: 'bob@lab.example', label: 'Collected meanwhile', scopes: { read: true, write: true } });
	await expect(page).toHaveURL(/\/admin$/);

	const owner = await (await browser.newContext({ baseURL: main.origin })).newPage();
	await owner.goto('/account');
	await new LoginPage(owner).signInWith('Clerk');
	await new DevIdentityProviderPage(owner).signIn('Bob Example');
	const item = owner.getByRole('list', { name: 'Approved devices' }).getByRole('listitem').filter({ hasText: 'Collected meanwhile' });
	await expect(item).toContainText('not yet');
	// The CLI collects its tokens while the page is still open.
	const tokens = (await poll(main, code.device_code)).body as { access_token: string };
	await item.getByRole('button', { name: /^Revoke Demo CLI Collected meanwhile before it is collected$/ }).click();
	await expect(owner.getByRole('alert')).toHaveText(
		'Too late to take back the approval: the device collected its tokens meanwhile and is logged in. Revoke its login to end it.'
	);
	const me = () => fetch(`${main.origin}/oauth/userinfo`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
	expect((await me()).status).toBe(200);
	await owner.getByRole('button', { name: "Revoke the device's login" }).click();
	await expect(owner.getByRole('alert')).toHaveCount(0);
	expect((await me()).status).toBe(401);
	await owner.close();
});

test('an admin sees approvals not yet collected among the grants and can revoke one', async ({ page }) => {
	const code = await requestCode(main);
	const admin = new AdminPage(page);
	await admin.open();
	await admin.lookUp(code.user_code);
	await admin.approve({ owner: 'alice@lab.example', label: 'Kiosk 9', scopes: { read: true, write: false } });
	const table = page.getByRole('table', { name: 'Approved, not yet collected' });
	const userCode = code.user_code.replace('-', '');
	await table.getByRole('button', { name: `Revoke approval of ${userCode} for email:alice@lab.example` }).click();
	await expect(table.getByRole('button', { name: `Revoke approval of ${userCode} for email:alice@lab.example` })).toHaveCount(0);
	expect((await poll(main, code.device_code)).body.error).toBe('access_denied');
});

test('an absurd audit page number shows an empty page, not a 500', async ({ page }) => {
	const admin = new AdminPage(page);
	await admin.open();
	for (const pageNumber of ['Infinity', '1e300', '99999999999999999999', '-4', 'abc']) {
		const response = await page.goto(`/admin?page=${pageNumber}`);
		expect(response?.status()).toBe(200);
		await expect(admin.auditLog()).toBeVisible();
	}
});
