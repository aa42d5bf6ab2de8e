import { expect, test, type Browser, type Page } from '@playwright/test';
import { ClientsAdminPage } from '../support/admin.ts';
import { DEVICE_GRANT, sleep } from '../support/oauth.ts';
import { signInAndDecide } from '../support/pages.ts';
import { startServer, type SpawnedServer } from '../support/spawned-server.ts';

/**
 * /admin/clients in Chromium (SPEC "Clients at run time"), on a server of its own with
 * registration open: an admin adds, edits, disables, rotates and deletes clients while CLIs
 * use them, and what the page changes holds at the JSON API at once.
 */

test.describe.configure({ mode: 'serial', timeout: 90_000 });

const REGISTRATION_TOKEN = 'registration-token-for-the-admin-page-tests';
const ADMIN = 'orcid:0000-0001-5109-3700';
let server: SpawnedServer;

test.beforeAll(async () => {
	server = await startServer('admin-clients', { ADMIN_SUBJECTS: ADMIN, REGISTRATION_TOKEN });
});
test.afterAll(async () => {
	await server?.kill();
});

async function adminPage(browser: Browser): Promise<{ page: Page; clients: ClientsAdminPage }> {
	const page = await (await browser.newContext({ baseURL: server.origin })).newPage();
	const clients = new ClientsAdminPage(page);
	await clients.open();
	return { page, clients };
}

async function post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
	const response = await fetch(`${server.origin}${path}`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
		body: new URLSearchParams(fields)
	});
	return { status: response.status, body: await response.json() };
}
const basic = (id: string, secret: string) => ({ Authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
const newCode = (clientId: string, headers: Record<string, string> = {}) => post('/oauth/device_authorization', { client_id: clientId }, headers);

test('an admin adds a client on the page and a CLI uses it at once; an edit changes what its next code gets; both audited with the admin', async ({
	browser
}) => {
	const { page, clients } = await adminPage(browser);
	await clients.create({ id: 'bench-cli', name: 'Bench CLI', fields: { Scopes: 'read' } });
	await expect(page).toHaveURL(/\/admin\/clients\/bench-cli$/);
	await expect(page.getByRole('status')).toContainText('Created bench-cli');

	const first = await newCode('bench-cli');
	expect(first.status).toBe(200);
	expect(first.body.interval).toBe(1);

	await page.getByLabel('Scopes', { exact: true }).fill('read write');
	await page.getByLabel('Poll interval', { exact: true }).fill('7');
	await page.getByLabel('Address mismatch', { exact: true }).selectOption('Refuse');
	await clients.press('Save changes');
	await expect(page.getByRole('status')).toContainText('Saved bench-cli');
	await expect(page.getByLabel('Poll interval', { exact: true })).toHaveValue('7');
	await expect(page.getByLabel('Address mismatch', { exact: true })).toHaveValue('refuse');

	const second = await post('/oauth/device_authorization', { client_id: 'bench-cli', scope: 'write' });
	expect(second.status).toBe(200);
	expect(second.body.interval).toBe(7);

	await page.getByRole('checkbox', { name: 'DPoP-bound access tokens' }).check();
	await clients.press('Save changes');
	await expect(page.getByRole('checkbox', { name: 'DPoP-bound access tokens' })).toBeChecked();
	const withoutProof = await newCode('bench-cli');
	expect(withoutProof.status).toBe(400);
	expect(withoutProof.body.error).toBe('invalid_dpop_proof');

	await clients.open();
	await expect(clients.list().getByRole('row').filter({ hasText: 'bench-cli' })).toContainText(`by ${ADMIN}`);
	await page.goto('/admin');
	const audit = page.getByRole('table', { name: 'Audit log' });
	await expect(audit.getByRole('row').filter({ hasText: 'client.created' }).filter({ hasText: 'bench-cli' })).toContainText(ADMIN);
	await expect(audit.getByRole('row').filter({ hasText: 'client.updated' }).filter({ hasText: 'bench-cli' }).first()).toContainText(ADMIN);
	await page.getByRole('link', { name: 'Manage clients' }).click();
	await expect(page).toHaveURL(/\/admin\/clients$/);
});

test('a disabled client is refused at its next poll, and polls again once enabled', async ({ browser }) => {
	const { page, clients } = await adminPage(browser);
	await clients.create({ id: 'switch-cli', name: 'Switch CLI' });
	const code = await newCode('switch-cli');
	await clients.press('Disable client');
	await expect(page.getByRole('status')).toContainText('Disabled switch-cli');
	const refused = await post('/oauth/token', { grant_type: DEVICE_GRANT, device_code: code.body.device_code, client_id: 'switch-cli' });
	expect(refused.status).toBe(401);
	expect(refused.body.error).toBe('invalid_client');

	await clients.press('Enable client');
	await expect(page.getByRole('status')).toContainText('Enabled switch-cli');
	await sleep(1100);
	const pending = await post('/oauth/token', { grant_type: DEVICE_GRANT, device_code: code.body.device_code, client_id: 'switch-cli' });
	expect(pending.body.error).toBe('authorization_pending');
});

test("a confidential client's secret is shown once and works; a rotated secret works and the old one is refused at once", async ({ browser }) => {
	const { page, clients } = await adminPage(browser);
	await clients.create({ id: 'bench-api', name: 'Bench API', type: 'Confidential', fields: { Scopes: 'read' } });
	const secret = await clients.shownSecret();
	expect((await newCode('bench-api', basic('bench-api', secret))).status).toBe(200);

	await clients.openClient('bench-api');
	await expect(page.getByLabel('New client secret')).toHaveCount(0);
	await clients.press('Rotate secret');
	const rotated = await clients.shownSecret();
	expect(rotated).not.toBe(secret);
	const old = await newCode('bench-api', basic('bench-api', secret));
	expect(old.status).toBe(401);
	expect(old.body.error).toBe('invalid_client');
	expect((await newCode('bench-api', basic('bench-api', rotated))).status).toBe(200);
	await page.reload();
	await expect(page.getByLabel('New client secret')).toHaveCount(0);
});

test("deleting a client names its live grants first, then revokes them: its device's token stops working", async ({ browser }) => {
	const { page, clients } = await adminPage(browser);
	await clients.create({ id: 'doomed-cli', name: 'Doomed CLI', fields: { Scopes: 'read' } });
	const code = await newCode('doomed-cli');
	const owner = await (await browser.newContext({ baseURL: server.origin })).newPage();
	await signInAndDecide(owner, code.body.user_code);
	await sleep(1100);
	const tokens = await post('/oauth/token', { grant_type: DEVICE_GRANT, device_code: code.body.device_code, client_id: 'doomed-cli' });
	expect(tokens.status).toBe(200);

	await clients.openClient('doomed-cli');
	await page.getByRole('link', { name: 'Delete client…' }).click();
	await expect(page.getByRole('heading', { name: /Delete Doomed CLI/ })).toBeVisible();
	await expect(page.getByText('revokes its 1 live grant')).toBeVisible();
	await clients.press('Delete client and revoke 1 live grant');
	await expect(page).toHaveURL(/\/admin\/clients$/);
	await expect(page.getByRole('status')).toContainText('Deleted doomed-cli: 1 grant revoked');
	await expect(clients.list()).not.toContainText('doomed-cli');
	const userinfo = await fetch(`${server.origin}/oauth/userinfo`, { headers: { Authorization: `Bearer ${tokens.body.access_token}` } });
	expect(userinfo.status).toBe(401);
});

test("the file's clients are read-only on the page; a registered client is listed and an admin can disable it", async ({ browser }) => {
	const { page, clients } = await adminPage(browser);
	await clients.openClient('demo-cli');
	await expect(page.getByText('CLIENTS_FILE manages this client, so it is read-only here')).toBeVisible();
	await expect(page.getByLabel('Name', { exact: true })).toBeDisabled();
	await expect(page.getByRole('button', { name: 'Save changes' })).toHaveCount(0);
	await expect(page.getByRole('button', { name: 'Disable client' })).toHaveCount(0);
	await page.goto('/admin/clients/demo-cli/delete');
	await expect(page.getByRole('button', { name: /Delete client/ })).toHaveCount(0);

	const registered = await fetch(`${server.origin}/oauth/register`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${REGISTRATION_TOKEN}` },
		body: JSON.stringify({ client_name: 'Self-registered CLI', token_endpoint_auth_method: 'none', scope: 'openid' })
	});
	const { client_id: clientId } = await registered.json();
	await clients.open();
	await page.getByLabel('Search clients', { exact: true }).fill('self-registered');
	await clients.press('Search');
	const row = clients.list().getByRole('row').filter({ hasText: clientId });
	await expect(row).toContainText('registration');
	await row.getByRole('link').click();
	await clients.press('Disable client');
	await expect(page.getByRole('status')).toContainText(`Disabled ${clientId}`);
	expect((await newCode(clientId)).body.error).toBe('invalid_client');
});

test('bad input is answered on the page with what to fix, keeping what was typed', async ({ browser }) => {
	const { page, clients } = await adminPage(browser);
	await clients.create({ id: 'bad id!', name: 'Bad' });
	await expect(page.getByRole('alert')).toContainText('Not created: id must be 1-64 characters');
	await expect(page.getByLabel('Name', { exact: true })).toHaveValue('Bad');

	await clients.create({ id: 'slow-cli', name: 'Slow CLI', fields: { 'Poll interval': 'soon' } });
	await expect(page.getByRole('alert')).toContainText('Not created: poll_interval must be a whole number of seconds from 1 to 300');
	await clients.create({ id: 'twice-cli', name: 'Once' });
	await expect(page.getByRole('status')).toContainText('Created twice-cli');
	await clients.open();
	await clients.create({ id: 'twice-cli', name: 'Twice' });
	await expect(page.getByRole('alert')).toContainText('Not created: a client "twice-cli" exists already');
	await clients.openClient('twice-cli');
	await page.getByLabel('Redirect URIs', { exact: true }).fill('http://example.com/callback');
	await clients.press('Save changes');
	await expect(page.getByRole('alert')).toContainText('Not saved: redirect_uris must be an array of absolute https URLs');
	await expect(page.getByLabel('Redirect URIs', { exact: true })).toHaveValue('http://example.com/callback');
});
