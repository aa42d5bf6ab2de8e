import { expect, test } from '@playwright/test';
import { requestCode } from '../support/oauth.ts';
import { DevicePage } from '../support/pages.ts';
import { SERVERS } from '../support/servers.ts';

const limited = SERVERS.limited;

test.use({ baseURL: limited.origin, extraHTTPHeaders: { 'X-Forwarded-For': '198.51.100.30' } });

test('wrong codes earn a growing wait: after three, even the right code is refused, with how long to wait', async ({ page }) => {
	const device = new DevicePage(page);
	await device.open();
	for (const guess of ['BCDF-GHJK', 'BCDF-GHJL', 'BCDF-GHJM']) {
		await device.enterCode(guess);
		await expect(page.getByRole('alert')).toBeVisible();
	}
	await expect(page.getByRole('alert')).toContainText(/Too many wrong codes .* Wait 60 seconds, then try again\./);

	const real = await requestCode(limited, { client_id: 'demo-cli' });
	const refused = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/device'));
	await device.enterCode(real.user_code);
	const response = await refused;
	expect(response.status()).toBe(429);
	await expect(page.getByRole('alert')).toContainText('Too many wrong codes');
	await expect(page).toHaveURL(/\/device$/);
});

test('the per-browser limit holds when the address changes, since wrong codes are counted per browser too', async ({ browser }) => {
	const context = await browser.newContext({ baseURL: limited.origin, extraHTTPHeaders: { 'X-Forwarded-For': '198.51.100.31' } });
	const page = await context.newPage();
	const device = new DevicePage(page);
	await device.open();
	for (const guess of ['CDFG-HJKL', 'CDFG-HJKM', 'CDFG-HJKN']) await device.enterCode(guess);
	await context.setExtraHTTPHeaders({ 'X-Forwarded-For': '198.51.100.32' });
	await device.enterCode('CDFG-HJKP');
	await expect(page.getByRole('alert')).toContainText('Too many wrong codes');
	await context.close();
});
