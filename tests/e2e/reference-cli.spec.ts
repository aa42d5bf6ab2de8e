import { expect, test } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signInAndDecide } from '../support/pages.ts';
import { SERVERS } from '../support/servers.ts';

const server = SERVERS.main;

/** Runs the reference CLI as a person would (`npm run login -- …` runs this same file). */
function runCli(args: string[], configHome: string) {
	const child = spawn(process.execPath, ['cli/login.ts', ...args], {
		env: { ...process.env, XDG_CONFIG_HOME: configHome },
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
	await expect.poll(() => read().split('\n').find((line) => pattern.test(line)), { timeout: 15_000 }).toBeTruthy();
	return read().split('\n').find((line) => pattern.test(line)) as string;
}

test('the reference CLI prints the URL and code on lines of their own, and says who logged in', async ({ page }) => {
	const configHome = mkdtempSync(join(tmpdir(), 'doorcode-cli-'));
	const cli = runCli(['--server', server.origin, '--no-qr'], configHome);
	const url = await waitForLine(cli.output, /^http:\/\/\S+\/device$/);
	const code = await waitForLine(cli.output, /^[A-Z]{4}-[A-Z]{4}$/);
	expect(url).toBe(`${server.origin}/device`);

	await signInAndDecide(page, code);
	expect(await cli.exited).toBe(0);
	expect(cli.output()).toContain('Logged in as Josiah Carberry');

	const credentials = join(configHome, 'doorcode', 'credentials.json');
	expect(statSync(credentials).mode & 0o777).toBe(0o600);

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
