import { expect, test } from '@playwright/test';
import { SERVERS } from '../support/servers.ts';
import { DevicePage, DevIdentityProviderPage, LoginPage } from '../support/pages.ts';

const main = SERVERS.main;
const secure = SERVERS.secure;

test('pages send a CSP with frame-ancestors none and no inline scripts without nonces, and no-referrer', async () => {
	for (const path of ['/device', '/login', '/device/error?reason=expired']) {
		const response = await fetch(`${main.origin}${path}`);
		expect(response.status).toBe(200);
		const csp = response.headers.get('content-security-policy') ?? '';
		expect(csp).toContain("frame-ancestors 'none'");
		expect(csp).toMatch(/script-src 'self'( 'nonce-[^']+'| 'sha256-[^']+')*(;|$)/);
		expect(csp).not.toContain("script-src 'self' 'unsafe-inline'");
		expect(response.headers.get('referrer-policy')).toBe('no-referrer');
		expect(response.headers.get('x-content-type-options')).toBe('nosniff');
	}
	expect((await fetch(`${main.origin}/.well-known/oauth-authorization-server`)).headers.get('referrer-policy')).toBe('no-referrer');
});

test('over plain http there is no Strict-Transport-Security; behind https there is', async () => {
	expect((await fetch(`${main.origin}/device`)).headers.get('strict-transport-security')).toBeNull();
	expect((await fetch(`${secure.origin}/device`)).headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
});

test('behind https every cookie is HttpOnly, SameSite=Lax, Secure and __Host- prefixed', async () => {
	const signIn = await fetch(`${secure.origin}/login/orcid?return_to=/account`, { redirect: 'manual' });
	expect(signIn.status).toBe(302);
	const device = await fetch(`${secure.origin}/device`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Sec-Fetch-Site': 'same-origin' },
		body: 'code=BCDF-GHJK'
	});
	expect(device.status).toBe(400);
	const cookies = [...signIn.headers.getSetCookie(), ...device.headers.getSetCookie()];
	expect(cookies.map((c) => c.split('=')[0]).sort()).toEqual([
		'__Host-doorcode_browser',
		'__Host-oauth_code_verifier',
		'__Host-oauth_provider',
		'__Host-oauth_return_to',
		'__Host-oauth_state'
	]);
	for (const cookie of cookies) {
		expect(cookie).toMatch(/; Path=\/(;|$)/);
		expect(cookie).toContain('; HttpOnly');
		expect(cookie).toContain('; Secure');
		expect(cookie).toContain('; SameSite=Lax');
		expect(cookie).not.toMatch(/; Domain=/i);
	}
});

test('return-to addresses stay on this site: no open redirect', async ({ page }) => {
	for (const evil of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)']) {
		const response = await fetch(`${main.origin}/login/orcid?return_to=${encodeURIComponent(evil)}`, { redirect: 'manual' });
		const returnTo = response.headers.getSetCookie().find((c) => c.startsWith('oauth_return_to='));
		expect(returnTo).toMatch(/^oauth_return_to=\/account;/);
	}
	await page.goto(`/login?return_to=${encodeURIComponent('//evil.example/phish')}`);
	await new LoginPage(page).signInWith('ORCID');
	await new DevIdentityProviderPage(page).signIn();
	await expect(page).toHaveURL(`${main.origin}/account`);
});

test('every sign-in gets a new session token, and the old one stops working (no fixation)', async ({ page, context }) => {
	const signIn = async () => {
		await page.goto('/login');
		await new LoginPage(page).signInWith('ORCID');
		await new DevIdentityProviderPage(page).signIn();
		await expect(page).toHaveURL(/\/account$/);
		return (await context.cookies()).find((c) => c.name === 'doorcode_session')?.value;
	};
	const first = await signIn();
	const second = await signIn();
	expect(first).toBeTruthy();
	expect(second).toBeTruthy();
	expect(second).not.toBe(first);
	const withOld = await fetch(`${main.origin}/account`, { headers: { Cookie: `doorcode_session=${first}` }, redirect: 'manual' });
	expect(withOld.status).toBe(303);
	expect(withOld.headers.get('location')).toMatch(/^\/login/);
	const device = new DevicePage(page);
	await device.open();
});
