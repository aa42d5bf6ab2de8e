import { expect, type Page } from '@playwright/test';
import { DevIdentityProviderPage, LoginPage } from './pages.ts';

/** The admin page, as a lab admin uses it. */
export class AdminPage {
	constructor(private readonly page: Page) {}

	/** Opens /admin, signing in as the admin (Laure Haak at the ORCID stand-in) when asked to. */
	async open() {
		await this.page.goto('/admin');
		if (/\/login/.test(this.page.url())) {
			await new LoginPage(this.page).signInWith('ORCID');
			await new DevIdentityProviderPage(this.page).signIn('Laure Haak');
		}
		await expect(this.page).toHaveURL(/\/admin$/);
		await this.page.waitForLoadState('networkidle');
	}

	async lookUp(code: string) {
		await this.page.getByLabel('Code', { exact: true }).fill(code);
		await this.page.getByRole('button', { name: 'Continue' }).click();
		await expect(this.page.getByLabel('Owner', { exact: true })).toBeVisible();
	}

	async approve({ owner, label, scopes }: { owner: string; label: string; scopes: Record<string, boolean> }) {
		await this.page.getByLabel('Owner', { exact: true }).fill(owner);
		await this.page.getByLabel('Label', { exact: true }).fill(label);
		for (const [scope, granted] of Object.entries(scopes)) await this.page.getByRole('checkbox', { name: scope, exact: true }).setChecked(granted);
		await this.page.getByRole('button', { name: 'Approve' }).click();
		await expect(this.page.getByRole('status')).toContainText('Approved');
	}

	async deny() {
		await this.page.getByRole('button', { name: 'Deny' }).click();
		await expect(this.page.getByRole('status')).toContainText('Denied');
	}

	auditLog() {
		return this.page.getByRole('table', { name: 'Audit log' });
	}

	/** The audit log's rows about one user code (the log shows it without its dash). */
	auditEntriesFor(userCode: string) {
		return this.auditLog()
			.getByRole('row')
			.filter({ hasText: userCode.replace('-', '') });
	}
}
