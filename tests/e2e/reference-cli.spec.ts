import { expect, test } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { form } from '../support/oauth.ts';
import { authorizeInBrowser, signInAndDecide } from '../support/pages.ts';
import { SERVERS } from '../support/servers.ts';

const server = SERVERS.main;

/**
 * Runs the reference CLI as a person would (`npm run login -- …` runs this same file), by default
 * on a machine without a display, where it logs in with a one-time code; `env` may give it one.
 */
function runCli(args: string[], configHome: string, env: Record<string, string> = {}) {
	const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !['DISPLAY', 'WAYLAND_DISPLAY', 'BROWSER'].includes(name)));
	const child = spawn(process.execPath, ['cli/login.ts', ...args], {
		env: { ...inherited, XDG_CONFIG_HOME: configHome, ...env },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', (chunk) => (stdout += chunk));
	child.stderr.on('data', (chunk) => (stderr += chunk));
	const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
	return { child, exited, output: () => stdout, errors: () => stderr };
}

async function waitForLine(read: () => string, pattern: RegExp): Promise<string> {
	await expect
		.poll(
			() =>
				read()
					.split('\n')
					.find((line) => pattern.test(line)),
			{ timeout: 15_000 }
		)
		.toBeTruthy();
	return read()
		.split('\n')
		.find((line) => pattern.test(line)) as string;
}

test('the reference CLI prints the URL and code on lines of their own, and says who logged in', async ({ page }) => {
	const configHome = mkdtempSync(join(tmpdir(), 'doorcode-cli-'));
	// A client granted profile learns the person's name (userinfo releases it only then).
	const cli = runCli(['--server', server.origin, '--client', 'oidc-cli', '--no-qr'], configHome);
	const url = await waitForLine(cli.output, /^http:\/\/\S+\/device$/);
	const code = await waitForLine(cli.output, /^[A-Z]{4}-[A-Z]{4}$/);
	expect(url).toBe(`${server.origin}/device`);

	await signInAndDecide(page, code);
	expect(await cli.exited).toBe(0);
	expect(cli.output()).toContain('Logged in as Josiah Carberry');

	const credentials = join(configHome, 'doorcode', 'credentials.json');
	expect(statSync(credentials).mode & 0o777).toBe(0o600);
	// Bound with DPoP to the ES256 key stored beside them: copied off this machine, the tokens are no use.
	const stored = JSON.parse(readFileSync(credentials, 'utf8')).servers[server.origin];
	expect(stored).toMatchObject({ token_type: 'DPoP', dpop_key: { kty: 'EC', crv: 'P-256', d: expect.any(String) } });
	expect((await fetch(`${server.origin}/oauth/userinfo`, { headers: { Authorization: `Bearer ${stored.access_token}` } })).status).toBe(401);
	const copiedRefresh = await form(server, '/oauth/token', { grant_type: 'refresh_token', refresh_token: stored.refresh_token, client_id: 'oidc-cli' });
	expect(copiedRefresh.body.error).toBe('invalid_dpop_proof');

	const whoami = runCli(['whoami', '--server', server.origin], configHome);
	expect(await whoami.exited).toBe(0);
	expect(whoami.output()).toContain('Logged in as Josiah Carberry');
	expect(whoami.output()).toContain('orcid:0000-0002-1825-0097');
});

test('the reference CLI reports a denial clearly and exits non-zero', async ({ page }) => {
	const configHome = mkdtempSync(join(tmpdir(), 'doorcode-cli-'));
	const cli = runCli(['--server', server.origin, '--no-qr'], configHome);
	const code = await waitForLine(cli.output, /^[A-Z]{4}-[A-Z]{4}$/);
	await signInAndDecide(page, code, { decision: 'deny' });
	expect(await cli.exited).toBe(1);
	expect(cli.output() + cli.errors()).toMatch(/denied/i);
});

test('the reference CLI refreshes by itself across an expired access token, even two runs at once, and logout ends the login on the server', async ({
	page
}) => {
	const configHome = mkdtempSync(join(tmpdir(), 'doorcode-cli-'));
	const cli = runCli(['--server', server.origin, '--no-qr'], configHome);
	const code = await waitForLine(cli.output, /^[A-Z]{4}-[A-Z]{4}$/);
	await signInAndDecide(page, code);
	expect(await cli.exited).toBe(0);

	const credentialsFile = join(configHome, 'doorcode', 'credentials.json');
	const stored = () => JSON.parse(readFileSync(credentialsFile, 'utf8')).servers[server.origin];
	const first = stored();

	// The access token is expired as far as the CLI knows: two whoami runs at once refresh it once, together.
	writeFileSync(credentialsFile, JSON.stringify({ servers: { [server.origin]: { ...first, expires_at: Date.now() - 1000 } } }), { mode: 0o600 });
	const [a, b] = [runCli(['whoami', '--server', server.origin], configHome), runCli(['whoami', '--server', server.origin], configHome)];
	expect([await a.exited, await b.exited]).toEqual([0, 0]);
	// demo-cli is not granted profile: the CLI names the person by their sub.
	expect(a.output()).toContain('Logged in as orcid:0000-0002-1825-0097');
	expect(b.output()).toContain('Logged in as orcid:0000-0002-1825-0097');
	const second = stored();
	expect(second.refresh_token).not.toBe(first.refresh_token);
	expect(statSync(credentialsFile).mode & 0o777).toBe(0o600);

	// The server ended the access token although the CLI thinks it live: one refresh and a retry.
	await form(server, '/oauth/revoke', { token: second.access_token, token_type_hint: 'access_token', client_id: 'demo-cli' });
	const again = runCli(['whoami', '--server', server.origin], configHome);
	expect(await again.exited).toBe(0);
	const third = stored();
	expect(third.access_token).not.toBe(second.access_token);

	const out = runCli(['logout', '--server', server.origin], configHome);
	expect(await out.exited).toBe(0);
	expect(out.output()).toBe(`Logged out of ${server.origin}\n`);
	expect(JSON.parse(readFileSync(credentialsFile, 'utf8')).servers).toEqual({});
	const refreshAfterLogout = await form(server, '/oauth/token', { grant_type: 'refresh_token', refresh_token: third.refresh_token, client_id: 'demo-cli' });
	expect(refreshAfterLogout.body.error).toBe('invalid_grant');
	expect((await fetch(`${server.origin}/oauth/userinfo`, { headers: { Authorization: `Bearer ${third.access_token}` } })).status).toBe(401);
	const whoamiAfter = runCli(['whoami', '--server', server.origin], configHome);
	expect(await whoamiAfter.exited).toBe(1);
	expect(whoamiAfter.errors()).toContain('Not logged in');
});

/** A stand-in for the person's browser ($BROWSER): it writes down the URL it was asked to open, for the test to open in Chromium. */
function browserStandIn(folder: string) {
	const opened = join(folder, 'opened-urls');
	const script = join(folder, 'open-browser.sh');
	writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${opened}'\n`, { mode: 0o755 });
	const url = async () => {
		await expect.poll(() => existsSync(opened) && readFileSync(opened, 'utf8').trim() !== '', { timeout: 15_000 }).toBe(true);
		return readFileSync(opened, 'utf8').trim();
	};
	return { script, url };
}

test('with a display, the reference CLI logs in through the browser on its own machine (loopback redirect, PKCE, DPoP), and whoami, refresh and logout work', async ({
	page
}) => {
	const configHome = mkdtempSync(join(tmpdir(), 'doorcode-cli-'));
	const browser = browserStandIn(configHome);
	const cli = runCli(['--server', server.origin, '--client', 'oidc-cli'], configHome, { DISPLAY: ':0', BROWSER: browser.script });
	const opened = new URL(await browser.url());
	expect(`${opened.origin}${opened.pathname}`).toBe(`${server.origin}/oauth/authorize`);
	expect(opened.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
	expect(opened.searchParams.get('code_challenge_method')).toBe('S256');
	expect(opened.searchParams.get('dpop_jkt')).toMatch(/^[A-Za-z0-9_-]{43}$/);
	// The URL is printed too, on a line of its own, for when no browser opens.
	expect(cli.output().split('\n')).toContain(opened.href);

	await authorizeInBrowser(page, opened.href, { clientName: 'OIDC CLI' });
	await expect(page.getByText('Signed in. You can close this tab and return to your terminal.')).toBeVisible();
	expect(await cli.exited).toBe(0);
	expect(cli.output()).toContain('Logged in as Josiah Carberry');

	const credentialsFile = join(configHome, 'doorcode', 'credentials.json');
	expect(statSync(credentialsFile).mode & 0o777).toBe(0o600);
	const stored = () => JSON.parse(readFileSync(credentialsFile, 'utf8')).servers[server.origin];
	const first = stored();
	expect(first).toMatchObject({ client_id: 'oidc-cli', token_type: 'DPoP', dpop_key: { kty: 'EC', crv: 'P-256' } });
	// Bound to the key: the access token alone is refused.
	expect((await fetch(`${server.origin}/oauth/userinfo`, { headers: { Authorization: `Bearer ${first.access_token}` } })).status).toBe(401);

	writeFileSync(credentialsFile, JSON.stringify({ servers: { [server.origin]: { ...first, expires_at: Date.now() - 1000 } } }), { mode: 0o600 });
	const whoami = runCli(['whoami', '--server', server.origin], configHome);
	expect(await whoami.exited).toBe(0);
	expect(whoami.output()).toContain('Logged in as Josiah Carberry');
	expect(stored().refresh_token).not.toBe(first.refresh_token);

	const out = runCli(['logout', '--server', server.origin], configHome);
	expect(await out.exited).toBe(0);
	expect(out.output()).toBe(`Logged out of ${server.origin}\n`);
});

test('over SSH, or with --device, the reference CLI logs in with a one-time code although a display is there', async () => {
	for (const [args, env] of [
		[[], { DISPLAY: ':0', SSH_CONNECTION: '192.0.2.9 50000 192.0.2.1 22' }],
		[['--device'], { DISPLAY: ':0' }]
	] as [string[], Record<string, string>][]) {
		const configHome = mkdtempSync(join(tmpdir(), 'doorcode-cli-'));
		const browser = browserStandIn(configHome);
		const cli = runCli(['--server', server.origin, '--no-qr', ...args], configHome, { ...env, BROWSER: browser.script });
		await waitForLine(cli.output, /^[A-Z]{4}-[A-Z]{4}$/);
		cli.child.kill('SIGINT');
		await cli.exited;
		expect(existsSync(join(configHome, 'opened-urls'))).toBe(false);
	}
});
