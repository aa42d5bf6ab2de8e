import { expect, test, type Page } from '@playwright/test';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GITHUB_USERS, startGitHubStandIn, type GitHubFault, type GitHubStandIn } from '../support/github-stand-in.ts';
import { ISSUER_USERS, startTestIssuer, type IdTokenFault, type TestIssuer } from '../support/oidc-issuer.ts';
import { loopbackRedirect } from '../support/loopback.ts';
import { ConfirmPage, ConsentPage, DevicePage, DevIdentityProviderPage, LoginPage } from '../support/pages.ts';
import { authorizationRequest, form, poll, requestCode, sleep } from '../support/oauth.ts';
import { freePort, startServer, type SpawnedServer } from '../support/spawned-server.ts';
import type { TestServer } from '../support/servers.ts';

/**
 * PROVIDERS_FILE in Chromium: a real OpenID issuer (oidc-provider) found by discovery
 * that remembers who signed in there,
 * a GitHub stand-in, and an issuer that is down from the start, beside the local
 * identity provider's ORCID and Clerk. Each worker runs its own doorcode and providers.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let server: SpawnedServer;
let target: TestServer;
let acme: TestIssuer;
let github: GitHubStandIn;

test.beforeAll(async () => {
	const name = `providers-${test.info().workerIndex}`;
	const port = await freePort();
	const origin = `http://localhost:${port}`;
	// As a real issuer, Acme keeps its session: the next sign-in there needs no page.
	acme = await startTestIssuer({ origin, id: 'acme', remembersSignIn: true });
	github = await startGitHubStandIn({ origin, id: 'github', remembersSignIn: true });
	const down = { ...acme.entry('Down SSO'), id: 'down', issuer: `http://127.0.0.1:${await freePort()}` };
	const file = `${ROOT}.e2e/${name}-providers.json`;
	writeFileSync(file, JSON.stringify({ providers: [acme.entry('Acme SSO'), github.entry('GitHub'), down] }));
	// Beside the test clients, one only Acme's and GitHub's platform team may approve for.
	const clients = JSON.parse(readFileSync(`${ROOT}tests/fixtures/clients.json`, 'utf8')) as { clients: unknown[] };
	clients.clients.push({
		id: 'platform-cli',
		name: 'Platform CLI',
		type: 'public',
		scopes: ['read'],
		grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'authorization_code'],
		redirect_uris: ['http://127.0.0.1/callback'],
		allow: { groups: ['acme/platform'] }
	});
	const clientsFile = `${ROOT}.e2e/${name}-clients.json`;
	writeFileSync(clientsFile, JSON.stringify(clients));
	server = await startServer(name, { PROVIDERS_FILE: file, CLIENTS_FILE: clientsFile }, { port });
	target = { name, port, origin, databasePath: server.databasePath, env: {} };
});

test.afterAll(async () => {
	await server?.kill();
	await Promise.all([acme?.close(), github?.close()]);
});

/** A CLI's code, typed at /device; the browser is then at /login. */
async function startDeviceLogin(page: Page, fields: Record<string, string> = { client_id: 'demo-cli' }) {
	const code = await requestCode(target, fields);
	const device = new DevicePage(page);
	await page.goto(`${server.origin}/device`);
	await page.waitForLoadState('networkidle');
	await device.enterCode(code.user_code);
	await expect(page).toHaveURL(/\/login\?return_to=/);
	return code;
}

async function authorizeAtGitHub(page: Page, user: { login: string; name: string | null }) {
	await page.getByRole('radio', { name: `${user.name ?? user.login} (${user.login})` }).check();
	await page.getByRole('button', { name: 'Authorize' }).click();
}

/** The server's JSON log lines that say a sign-in failed. */
function failureLines(): Record<string, unknown>[] {
	return server
		.logs()
		.split('\n')
		.filter((line) => line.startsWith('{') && line.includes('"sign-in failed"'))
		.map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function collect(deviceCode: string, clientId = 'demo-cli') {
	await sleep(1100);
	return poll(target, deviceCode, clientId);
}

test('the sign-in page offers ORCID and Clerk, then each PROVIDERS_FILE provider in the order of the file', async ({ page }) => {
	await page.goto(`${server.origin}/login`);
	await expect(page.getByRole('link', { name: /^Sign in with / })).toHaveText([
		'Sign in with ORCID',
		'Sign in with Clerk',
		'Sign in with Acme SSO',
		'Sign in with GitHub',
		'Sign in with Down SSO'
	]);
	// The issuer that is down from the start stopped nothing.
	expect((await fetch(`${server.origin}/readyz`)).status).toBe(200);
});

test('a device login through an OpenID issuer: the CLI gets tokens for acme:<sub>, with the address the issuer verified', async ({ page }) => {
	const code = await startDeviceLogin(page, { client_id: 'oidc-cli', scope: 'email read' });
	await new LoginPage(page).signInWith('Acme SSO');
	await new DevIdentityProviderPage(page).signIn('Ada Lovelace');
	const confirm = new ConfirmPage(page);
	await confirm.expectCode(code.user_code);
	await expect(page.getByText('acme:ada-0001')).toBeVisible();
	await confirm.approve();
	await expect(page).toHaveURL(/\/device\/success/);
	const tokens = await collect(code.device_code, 'oidc-cli');
	expect(tokens.status).toBe(200);
	const userinfo = await (await fetch(`${server.origin}/oauth/userinfo`, { headers: { Authorization: `Bearer ${tokens.body.access_token}` } })).json();
	expect(userinfo).toMatchObject({ sub: 'acme:ada-0001', provider: 'acme', email: 'ada@acme.example', email_verified: true });
});

test('signing in at /login with the OpenID issuer: /account says with what and as whom, and lists the groups', async ({ page }) => {
	await page.goto(`${server.origin}/login`);
	await new LoginPage(page).signInWith('Acme SSO');
	await new DevIdentityProviderPage(page).signIn('Ada Lovelace');
	await expect(page).toHaveURL(`${server.origin}/account`);
	await expect(page.getByTestId('signed-in-with')).toHaveText(/^\s*Signed in with Acme SSO as Ada Lovelace\s*· groups: acme\/admins, acme\/platform\s*$/);
});

test('a device login through GitHub: the CLI gets tokens for github:<numeric id>', async ({ page }) => {
	const code = await startDeviceLogin(page);
	await new LoginPage(page).signInWith('GitHub');
	await authorizeAtGitHub(page, GITHUB_USERS.octo);
	await expect(page.getByText('github:583231')).toBeVisible();
	await new ConfirmPage(page).approve();
	await expect(page).toHaveURL(/\/device\/success/);
	const tokens = await collect(code.device_code);
	expect(tokens.status).toBe(200);
	expect(tokens.body.sub).toBe('github:583231');
});

test('signing in at /login with GitHub: /account names the profile, else the login, with organizations and teams as groups', async ({ page }) => {
	await page.goto(`${server.origin}/login`);
	await new LoginPage(page).signInWith('GitHub');
	await authorizeAtGitHub(page, GITHUB_USERS.octo);
	await expect(page.getByTestId('signed-in-with')).toHaveText(/^\s*Signed in with GitHub as The Octocat\s*· groups: acme, acme\/platform, octo-org\s*$/);
});

/** Where a failed sign-in during a device login must land: the device error page, saying what happened and what to do. */
async function expectDeviceError(page: Page, words: string, reason = 'provider_failed') {
	await expect(page).toHaveURL(new RegExp(`/device/error\\?reason=${reason}`));
	await expect(page.getByRole('alert')).toContainText(words);
	await expect(page.getByText('run the login command on your device again')).toBeVisible();
}

async function expectLogged(provider: string, problem: string | null) {
	await expect.poll(() => failureLines().filter((line) => line.provider === provider && line.problem === problem).length).toBeGreaterThan(0);
}

for (const fault of ['signature', 'audience', 'nonce', 'expired'] satisfies IdTokenFault[]) {
	test(`an ID token with a bad ${fault} during a device login lands on the device error page; the CLI hears access_denied`, async ({ page }) => {
		const code = await startDeviceLogin(page);
		await new LoginPage(page).signInWith('Acme SSO');
		acme.setFault(fault);
		try {
			await new DevIdentityProviderPage(page).signIn(ISSUER_USERS.ada.name);
			await expectDeviceError(page, "Acme SSO's answer could not be verified, so doorcode did not trust it.");
		} finally {
			acme.setFault(null);
		}
		expect((await collect(code.device_code)).body).toEqual({ error: 'access_denied', error_description: 'The sign-in at the identity provider failed.' });
		await expectLogged('acme', 'invalid_token');
	});
}

test('an issuer that cannot be reached: the device error page says so, before the browser leaves doorcode', async ({ page }) => {
	await startDeviceLogin(page);
	await new LoginPage(page).signInWith('Down SSO');
	await expectDeviceError(page, 'Down SSO cannot be reached right now.');
	await expectLogged('down', 'unreachable');
	const line = failureLines().find((entry) => entry.provider === 'down');
	expect(line).toEqual({
		level: 'warn',
		msg: 'sign-in failed',
		provider: 'down',
		reason: 'provider_failed',
		problem: 'unreachable',
		detail: expect.any(String)
	});
});

test('outside a device login, an issuer that cannot be reached is an error on the sign-in page', async ({ page }) => {
	await page.goto(`${server.origin}/login`);
	await new LoginPage(page).signInWith('Down SSO');
	await expect(page).toHaveURL(/\/login\?error=provider_failed&provider=down&problem=unreachable$/);
	await expect(page.getByRole('alert')).toHaveText('Down SSO cannot be reached right now. The sign-in at the provider failed. You can try again.');
});

for (const [fault, words, problem] of [
	['bad_verification_code', 'GitHub did not accept the sign-in: the code it sent back was refused.', 'refused'],
	['rate_limited', 'GitHub did not say who you are: its API answered with an error.', 'profile']
] satisfies [GitHubFault, string, string][]) {
	test(`GitHub's ${fault} during a device login lands on the device error page; the CLI hears access_denied`, async ({ page }) => {
		const code = await startDeviceLogin(page);
		await new LoginPage(page).signInWith('GitHub');
		github.setFault(fault);
		try {
			await authorizeAtGitHub(page, GITHUB_USERS.octo);
			await expectDeviceError(page, words);
		} finally {
			github.setFault(null);
		}
		expect((await collect(code.device_code)).body).toMatchObject({ error: 'access_denied' });
		await expectLogged('github', problem);
	});
}

test('Cancel at GitHub lands on the device error page as a refusal; the CLI hears access_denied', async ({ page }) => {
	const code = await startDeviceLogin(page);
	await new LoginPage(page).signInWith('GitHub');
	await page.getByRole('button', { name: 'Cancel' }).click();
	await expectDeviceError(page, 'The sign-in was cancelled or refused at the identity provider', 'provider_denied');
	expect((await collect(code.device_code)).body).toEqual({
		error: 'access_denied',
		error_description: 'The sign-in was cancelled or refused at the identity provider.'
	});
});

test("a client's allow by group admits the issuer's and GitHub's platform team, and no one else", async ({ page }) => {
	const code = await startDeviceLogin(page, { client_id: 'platform-cli' });
	await new LoginPage(page).signInWith('Acme SSO');
	await new DevIdentityProviderPage(page).signIn(ISSUER_USERS.grace.name);
	await expect(page.getByRole('heading', { name: 'This account may not approve Platform CLI' })).toBeVisible();
	await expect(page.getByRole('button', { name: 'Approve' })).toHaveCount(0);
	await page.getByRole('button', { name: 'Sign in with another account' }).click();
	await new LoginPage(page).signInWith('GitHub');
	await authorizeAtGitHub(page, GITHUB_USERS.octo);
	await new ConfirmPage(page).approve();
	await expect(page).toHaveURL(/\/device\/success/);
	const tokens = await collect(code.device_code, 'platform-cli');
	expect(tokens.body.sub).toBe('github:583231');
});

/** The next authorization request the browser sends to the Acme issuer; resolves to its `prompt` (null: none). */
function nextPromptAtAcme(page: Page): Promise<string | null> {
	return page
		.waitForRequest((request) => request.url().startsWith(`${acme.issuer}/auth?`))
		.then((request) => new URL(request.url()).searchParams.get('prompt'));
}

test('someone the rule refuses signs in with another account at the same issuer: it asks who they are again instead of signing them straight back in', async ({
	page
}) => {
	const code = await startDeviceLogin(page, { client_id: 'platform-cli' });
	await new LoginPage(page).signInWith('Acme SSO');
	await new DevIdentityProviderPage(page).signIn(ISSUER_USERS.grace.name);
	const confirm = new ConfirmPage(page);
	await confirm.expectRefused('Platform CLI');

	// Acme remembers Grace: a plain sign-in there brings her straight back, without its page.
	await page.goto(`${server.origin}/login`);
	await new LoginPage(page).signInWith('Acme SSO');
	await expect(page).toHaveURL(`${server.origin}/account`);
	await expect(page.getByTestId('signed-in-with')).toContainText('Signed in with Acme SSO as Grace Hopper');
	await page.goto(`${server.origin}/device/confirm`);
	await confirm.expectRefused('Platform CLI');

	const prompt = nextPromptAtAcme(page);
	await confirm.signInWithAnotherAccount();
	await expect(page).toHaveURL(/\/login\?return_to=%2Fdevice%2Fconfirm&another_account=1$/);
	await expect(page.getByText('Choose the account to sign in with.')).toBeVisible();
	await new LoginPage(page).signInWith('Acme SSO');
	expect(await prompt).toBe('login');
	await new DevIdentityProviderPage(page).signIn(ISSUER_USERS.ada.name);
	await confirm.expectCode(code.user_code);
	await expect(page.getByText('acme:ada-0001')).toBeVisible();
	await confirm.approve();
	await expect(page).toHaveURL(/\/device\/success/);
	const tokens = await collect(code.device_code, 'platform-cli');
	expect(tokens.body.sub).toBe('acme:ada-0001');
});

test('at GitHub, someone the rule refuses gets its account picker (prompt=select_account) instead of being signed straight back in', async ({ page }) => {
	const code = await startDeviceLogin(page, { client_id: 'platform-cli' });
	await new LoginPage(page).signInWith('GitHub');
	await authorizeAtGitHub(page, GITHUB_USERS.mona);
	const confirm = new ConfirmPage(page);
	await confirm.expectRefused('Platform CLI');

	// GitHub remembers Mona: a plain sign-in there brings her straight back, without its page.
	await page.goto(`${server.origin}/login`);
	await new LoginPage(page).signInWith('GitHub');
	await expect(page).toHaveURL(`${server.origin}/account`);
	await expect(page.getByTestId('signed-in-with')).toContainText('Signed in with GitHub as monalisa');
	await page.goto(`${server.origin}/device/confirm`);
	await confirm.expectRefused('Platform CLI');

	const promptsBefore = github.promptsReceived().length;
	await confirm.signInWithAnotherAccount();
	await new LoginPage(page).signInWith('GitHub');
	await authorizeAtGitHub(page, GITHUB_USERS.octo);
	expect(github.promptsReceived().slice(promptsBefore)).toEqual(['select_account']);
	await confirm.expectCode(code.user_code);
	await confirm.approve();
	await expect(page).toHaveURL(/\/device\/success/);
	expect((await collect(code.device_code, 'platform-cli')).body.sub).toBe('github:583231');
});

test('on the consent page too: someone the rule refuses signs in with another account, the issuer asks again, and the client gets a code for the other person', async ({
	page
}) => {
	const callback = await loopbackRedirect();
	try {
		const { verifier, query: request } = authorizationRequest(callback.redirectUri, 'platform-state', { client_id: 'platform-cli', scope: 'read' });
		await page.goto(`${server.origin}/oauth/authorize?${request}`);
		await new LoginPage(page).signInWith('Acme SSO');
		await new DevIdentityProviderPage(page).signIn(ISSUER_USERS.grace.name);
		await expect(page.getByRole('heading', { name: 'This account may not approve Platform CLI' })).toBeVisible();
		await expect(page.getByRole('button', { name: 'Approve' })).toHaveCount(0);

		const prompt = nextPromptAtAcme(page);
		await page.getByRole('button', { name: 'Sign in with another account' }).click();
		await expect(page).toHaveURL(/\/login\?return_to=%2Foauth%2Fauthorize%3F[^&]+&another_account=1$/);
		await new LoginPage(page).signInWith('Acme SSO');
		expect(await prompt).toBe('login');
		await new DevIdentityProviderPage(page).signIn(ISSUER_USERS.ada.name);
		const consent = new ConsentPage(page);
		await consent.expectClient('Platform CLI');
		await consent.approve();

		const answer = await callback.answered;
		expect(answer.searchParams.get('state')).toBe('platform-state');
		const tokens = await form(target, '/oauth/token', {
			grant_type: 'authorization_code',
			code: answer.searchParams.get('code') ?? '',
			redirect_uri: callback.redirectUri,
			code_verifier: verifier,
			client_id: 'platform-cli'
		});
		expect(tokens.status).toBe(200);
		const userinfo = await (await fetch(`${server.origin}/oauth/userinfo`, { headers: { Authorization: `Bearer ${tokens.body.access_token}` } })).json();
		expect(userinfo).toMatchObject({ sub: 'acme:ada-0001', client_id: 'platform-cli' });
	} finally {
		callback.close();
	}
});
