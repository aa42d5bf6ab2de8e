import { expect, test, type Page } from '@playwright/test';
import { ConfirmPage, DevicePage, DevIdentityProviderPage, LoginPage } from '../support/pages.ts';
import { requestCode } from '../support/oauth.ts';
import { screenshotPath } from '../support/screenshots.ts';
import { SERVERS } from '../support/servers.ts';

/** The README's pictures of each page, taken from the built app in light and dark. */
const shoot = (page: Page, name: string) => page.screenshot({ path: screenshotPath(name), fullPage: true });

test.use({ viewport: { width: 720, height: 760 } });

test('each page of a device login renders its heading (README screenshots)', async ({ page }) => {
	const code = await requestCode(SERVERS.main);
	const device = new DevicePage(page);
	await device.open(code.user_code);
	await expect(page.getByRole('heading', { name: 'Enter the code from your device' })).toBeVisible();
	await shoot(page, 'device');

	await page.getByRole('button', { name: 'Continue' }).click();
	await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
	await shoot(page, 'login');

	await new LoginPage(page).signInWith('ORCID');
	await expect(page.getByRole('button', { name: 'Cancel' })).toBeVisible();
	await shoot(page, 'dev-idp');

	await new DevIdentityProviderPage(page).signIn();
	await new ConfirmPage(page).expectCode(code.user_code);
	await shoot(page, 'confirm');

	await new ConfirmPage(page).approve();
	await expect(page.getByRole('heading', { name: "You're signed in" })).toBeVisible();
	await shoot(page, 'success');

	await page.goto('/device/error?reason=provider_denied');
	await expect(page.getByRole('heading', { name: 'Sign-in cancelled at the provider' })).toBeVisible();
	await shoot(page, 'error');
});

test.describe('dark and phone', () => {
	test.use({ colorScheme: 'dark', viewport: { width: 390, height: 760 } });

	test('the code page is usable on a phone in dark mode (README screenshot)', async ({ page }) => {
		await new DevicePage(page).open('BCDF-GHJK');
		const field = page.getByLabel('Code', { exact: true });
		await expect(field).toBeVisible();
		const box = await field.boundingBox();
		expect(box && box.width).toBeGreaterThan(390 * 0.7);
		await shoot(page, 'device-phone-dark');
	});
});
