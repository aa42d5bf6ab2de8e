import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Playwright's global setup: which Chromium the browser tests run in. CHROMIUM_PATH when it is
 * set, else Debian's /usr/bin/chromium, else the Chromium inside the @sparticuz/chromium npm
 * package, so a machine with only Node and npm runs the browser tests too (Playwright cannot
 * download its own browser here). The path reaches the workers through CHROMIUM_PATH, which
 * playwright.config.ts reads: it is resolved once, here, and never by two workers at a time.
 */
export default async function setup() {
	if (process.env.CHROMIUM_PATH) return;
	if (isExecutable('/usr/bin/chromium')) {
		process.env.CHROMIUM_PATH = '/usr/bin/chromium';
		return;
	}
	process.env.CHROMIUM_PATH = await npmChromium();
	console.log(`browser tests: no /usr/bin/chromium, so Chromium from @sparticuz/chromium (${process.env.CHROMIUM_PATH})`);
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A program that can run: not merely a path (a program hidden behind /dev/null exists but is none). */
function isExecutable(path: string): boolean {
	try {
		accessSync(path, constants.X_OK);
		return statSync(path).isFile();
	} catch {
		return false;
	}
}

/**
 * @sparticuz/chromium decompresses its browser (and the libraries beside it) into os.tmpdir() and
 * then trusts any file already named chromium there: one cut short or of another version too. So
 * it decompresses into a folder of its own, made for the purpose, which is renamed into a cache
 * folder per version only when complete; a rename is atomic, as in scripts/node24.sh.
 */
async function npmChromium(): Promise<string> {
	const { version } = JSON.parse(readFileSync(`${ROOT}node_modules/@sparticuz/chromium/package.json`, 'utf8')) as { version: string };
	const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'doorcode');
	const folder = join(cache, `sparticuz-chromium-${version}`);
	if (existsSync(join(folder, 'chromium'))) return join(folder, 'chromium');

	mkdirSync(cache, { recursive: true });
	const staging = mkdtempSync(join(cache, '.sparticuz-chromium-'));
	const tmpdir = process.env.TMPDIR;
	try {
		// os.tmpdir() follows TMPDIR; nothing else runs in this process meanwhile.
		process.env.TMPDIR = staging;
		const { default: chromium } = await import('@sparticuz/chromium');
		await chromium.executablePath();
	} finally {
		if (tmpdir === undefined) delete process.env.TMPDIR;
		else process.env.TMPDIR = tmpdir;
	}
	try {
		renameSync(staging, folder);
	} catch {
		// Another run finished first: its copy is as good.
		rmSync(staging, { recursive: true, force: true });
	}
	return join(folder, 'chromium');
}
