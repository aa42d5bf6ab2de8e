import { defineConfig } from '@playwright/test';
import { SERVERS } from './tests/support/servers.ts';

/**
 * Browser and API tests against the built app (`vite build` runs first in npm test), in Debian's
 * Chromium, or the one from npm where there is none: Playwright cannot download its own browser here.
 */
export default defineConfig({
	testDir: 'tests',
	testMatch: ['api/**/*.spec.ts', 'e2e/**/*.spec.ts'],
	fullyParallel: true,
	workers: 2,
	retries: 0,
	timeout: 60_000,
	reporter: [['list'], ['./tests/support/summary-reporter.ts']],
	globalSetup: ['./tests/support/playwright-chromium.ts', './tests/support/playwright-postgres.ts'],
	use: {
		baseURL: SERVERS.main.origin,
		launchOptions: {
			// Set by the global setup in playwright-chromium.ts, before any worker starts.
			executablePath: process.env.CHROMIUM_PATH,
			args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
		},
		trace: 'off',
		screenshot: 'off'
	},
	projects: [
		{ name: 'chromium', testIgnore: ['**/*.nojs.spec.ts'] },
		{ name: 'chromium-no-js', testMatch: ['e2e/**/*.nojs.spec.ts'], use: { javaScriptEnabled: false } }
	],
	webServer: Object.values(SERVERS).map((server) => ({
		command: `node tests/support/serve.ts ${server.name}`,
		url: `${server.origin}/.well-known/oauth-authorization-server`,
		reuseExistingServer: false,
		timeout: 60_000,
		stdout: 'ignore',
		stderr: 'pipe'
	}))
});
