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

/** /admin/clients and each client's pages, as an admin uses them. */
export class ClientsAdminPage {
	constructor(private readonly page: Page) {}

	/** Opens the list, signing in as the admin (Laure Haak at the ORCID stand-in) when asked to. */
	async open() {
		await this.page.goto('/admin/clients');
		if (/\/login/.test(this.page.url())) {
			await new LoginPage(this.page).signInWith('ORCID');
			await new DevIdentityProviderPage(this.page).signIn('Laure Haak');
		}
		await expect(this.page).toHaveURL(/\/admin\/clients$/);
		await this.page.waitForLoadState('networkidle');
	}

	list() {
		return this.page.getByRole('table', { name: 'Clients' });
	}

	/** The new-client form, filled with `settings` (by their labels) and sent. */
	async create(settings: { id: string; name: string; type?: 'Public' | 'Confidential'; fields?: Record<string, string> }) {
		await this.page.goto('/admin/clients/new');
		// Let hydration finish, so what is typed is not reset under the test's fingers.
		await this.page.waitForLoadState('networkidle');
		await this.page.getByLabel('Client ID', { exact: true }).fill(settings.id);
		await this.page.getByLabel('Name', { exact: true }).fill(settings.name);
		if (settings.type) await this.page.getByRole('radio', { name: settings.type, exact: true }).check();
		for (const [label, value] of Object.entries(settings.fields ?? {})) await this.page.getByLabel(label, { exact: true }).fill(value);
		await this.page.getByRole('button', { name: 'Create client' }).click();
	}

	async openClient(id: string) {
		await this.page.goto(`/admin/clients/${encodeURIComponent(id)}`);
		await this.page.waitForLoadState('networkidle');
	}

	/** The secret shown once after a create or a rotation. */
	async shownSecret(): Promise<string> {
		const field = this.page.getByLabel('New client secret', { exact: true });
		await expect(field).toHaveValue(/^dcs_/);
		return field.inputValue();
	}

	async press(button: string) {
		await this.page.getByRole('button', { name: button, exact: true }).click();
	}
}
