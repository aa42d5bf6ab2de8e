import { expect, type Page } from '@playwright/test';

/** Page objects for what a person sees, found by the accessible names SPEC gives. */

export class DevicePage {
	constructor(private readonly page: Page) {}

	async open(prefill?: string) {
		await this.page.goto(prefill === undefined ? '/device' : `/device?user_code=${encodeURIComponent(prefill)}`);
		// Let hydration finish, so what is typed is not reset under the test's fingers.
		await this.page.waitForLoadState('networkidle');
	}

	get codeField() {
		return this.page.getByLabel('Code', { exact: true });
	}

	async enterCode(code: string) {
		await this.page.waitForLoadState('networkidle');
		await this.codeField.fill(code);
		// Wait for the server's answer: the next step may depend on the cookie it sets.
		const answered = this.page.waitForResponse((response) => response.request().method() === 'POST' && new URL(response.url()).pathname === '/device');
		await this.page.getByRole('button', { name: 'Continue' }).click();
		await answered;
	}
}

export class LoginPage {
	constructor(private readonly page: Page) {}

	/** ORCID, Clerk, or a PROVIDERS_FILE provider's name. */
	async signInWith(provider: string) {
		await this.page.getByRole('link', { name: `Sign in with ${provider}` }).click();
	}
}

/** The local identity provider's sign-in page (standing in for ORCID and Clerk; also the tests' third issuer). */
export class DevIdentityProviderPage {
	constructor(private readonly page: Page) {}

	async signIn(user?: string) {
		if (user) await this.page.getByRole('radio', { name: user }).check();
		await this.page.getByRole('button', { name: 'Sign in', exact: true }).click();
	}

	async cancel() {
		await this.page.getByRole('button', { name: 'Cancel' }).click();
	}
}

export class ConfirmPage {
	constructor(private readonly page: Page) {}

	async expectCode(userCode: string) {
		await expect(this.page).toHaveURL(/\/device\/confirm$/);
		await expect(this.page.getByText(userCode, { exact: true })).toBeVisible();
	}

	async approve() {
		await this.page.getByRole('button', { name: 'Approve' }).click();
	}

	async deny() {
		await this.page.getByRole('button', { name: 'Deny' }).click();
	}

	/** The client's `allow` refuses this account: why, and no Approve button. */
	async expectRefused(clientName: string) {
		await expect(this.page).toHaveURL(/\/device\/confirm$/);
		await expect(this.page.getByRole('heading', { name: `This account may not approve ${clientName}` })).toBeVisible();
		await expect(this.page.getByRole('alert')).toContainText('may not approve');
		await expect(this.page.getByRole('button', { name: 'Approve' })).toHaveCount(0);
	}

	async signInWithAnotherAccount() {
		await this.page.getByRole('button', { name: 'Sign in with another account' }).click();
	}
}

/** The whole browser side of a device login: code, sign-in at the provider, then approve or deny. */
export async function signInAndDecide(
	page: Page,
	userCode: string,
	{ provider = 'ORCID', user, decision = 'approve' }: { provider?: string; user?: string; decision?: 'approve' | 'deny' } = {}
) {
	const device = new DevicePage(page);
	await device.open();
	await device.enterCode(userCode);
	await new LoginPage(page).signInWith(provider);
	await new DevIdentityProviderPage(page).signIn(user);
	const confirm = new ConfirmPage(page);
	await confirm.expectCode(userCode);
	if (decision === 'approve') await confirm.approve();
	else await confirm.deny();
}

/** The authorization code flow's consent page (/oauth/authorize). */
export class ConsentPage {
	constructor(private readonly page: Page) {}

	async expectClient(clientName: string) {
		await expect(this.page).toHaveURL(/\/oauth\/authorize\?/);
		await expect(this.page.getByRole('heading', { name: `Sign in to ${clientName}?` })).toBeVisible();
	}

	async approve() {
		await this.page.getByRole('button', { name: 'Approve' }).click();
	}

	async deny() {
		await this.page.getByRole('button', { name: 'Deny' }).click();
	}
}

/**
 * The browser side of the authorization code flow: open the authorization request, sign in at
 * ORCID if needed, then approve or deny on the consent page.
 */
export async function authorizeInBrowser(
	page: Page,
	authorizationUrl: string,
	{ clientName, decision = 'approve', signIn = true }: { clientName: string; decision?: 'approve' | 'deny'; signIn?: boolean }
) {
	await page.goto(authorizationUrl);
	if (signIn) {
		await new LoginPage(page).signInWith('ORCID');
		await new DevIdentityProviderPage(page).signIn();
	}
	const consent = new ConsentPage(page);
	await consent.expectClient(clientName);
	if (decision === 'approve') await consent.approve();
	else await consent.deny();
}
