import { expect, test } from '@playwright/test';
import { ClientsAdminPage } from '../support/admin.ts';
import { startServer, type SpawnedServer } from '../support/spawned-server.ts';

/**
 * /admin/clients with JavaScript off (the chromium-no-js project): every change is a plain
 * form post, and each page answers it whole.
 */

test.describe.configure({ mode: 'serial', timeout: 90_000 });

let server: SpawnedServer;

test.beforeAll(async () => {
	server = await startServer('admin-clients-nojs', { ADMIN_SUBJECTS: 'orcid:0000-0001-5109-3700' });
});
test.afterAll(async () => {
	await server?.kill();
});

const basic = (id: string, secret: string) => ({ Authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
async function newCode(clientId: string, headers: Record<string, string> = {}) {
	const response = await fetch(`${server.origin}/oauth/device_authorization`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
		body: new URLSearchParams({ client_id: clientId })
	});
	return { status: response.status, body: await response.json() };
}

test('without JavaScript an admin creates a confidential client (its secret shown once), edits, rotates, disables and deletes it', async ({ browser }) => {
	const page = await (await browser.newContext({ baseURL: server.origin, javaScriptEnabled: false })).newPage();
	const clients = new ClientsAdminPage(page);
	await clients.open();
	await clients.create({ id: 'kiosk-api', name: 'Kiosk API', type: 'Confidential', fields: { Scopes: 'read' } });
	const secret = await clients.shownSecret();
	expect((await newCode('kiosk-api', basic('kiosk-api', secret))).status).toBe(200);

	await clients.openClient('kiosk-api');
	await page.getByLabel('Code lifetime', { exact: true }).fill('90');
	await clients.press('Save changes');
	await expect(page.getByRole('status')).toContainText('Saved kiosk-api');
	expect((await newCode('kiosk-api', basic('kiosk-api', secret))).body.expires_in).toBe(90);

	await clients.press('Rotate secret');
	const rotated = await clients.shownSecret();
	expect((await newCode('kiosk-api', basic('kiosk-api', secret))).status).toBe(401);
	expect((await newCode('kiosk-api', basic('kiosk-api', rotated))).status).toBe(200);

	await clients.openClient('kiosk-api');
	await clients.press('Disable client');
	await expect(page.getByRole('status')).toContainText('Disabled kiosk-api');
	expect((await newCode('kiosk-api', basic('kiosk-api', rotated))).body.error).toBe('invalid_client');

	await page.getByRole('link', { name: 'Delete client…' }).click();
	await expect(page.getByText('revokes its 0 live grants')).toBeVisible();
	await clients.press('Delete client and revoke 0 live grants');
	await expect(page.getByRole('status')).toContainText('Deleted kiosk-api: 0 grants revoked');
	await expect(page.getByRole('table', { name: 'Clients' })).not.toContainText('kiosk-api');

	await clients.create({ id: 'kiosk-cli', name: 'Kiosk CLI', fields: { 'Access token lifetime': '5' } });
	await expect(page.getByRole('alert')).toContainText('Not created: access_token_ttl must be a whole number of seconds from 30 to 86400');
	await expect(page.getByLabel('Client ID', { exact: true })).toHaveValue('kiosk-cli');
});
