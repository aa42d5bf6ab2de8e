/**
 * Where a documentation screenshot (README, docs/admins.md) goes: docs/screenshots only when `npm run screenshots` asks
 * for it on purpose, else the untracked test-results/, so a test run changes no tracked file.
 */
export function screenshotPath(name: string): string {
	const folder = process.env.DOORCODE_UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'test-results/screenshots';
	return `${folder}/${name}.png`;
}
