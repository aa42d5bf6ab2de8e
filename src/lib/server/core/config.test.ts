import { describe, expect, it } from 'vitest';
import { loadConfig, providerName } from './config';

const orcid = { ORCID_CLIENT_ID: 'APP-1', ORCID_CLIENT_SECRET: 's' };
const noFile = () => {
	throw Object.assign(new Error('missing'), { code: 'ENOENT' });
};

describe('configuration', () => {
	it('defaults follow SPEC', () => {
		const result = loadConfig({ ...orcid });
		expect(result.ok).toBe(true);
		if (!result.ok) return;
		expect(result.config).toMatchObject({
			origin: 'http://localhost:5173',
			databasePath: './data/doorcode.db',
			deviceCodeTtlSeconds: 600,
			pollIntervalSeconds: 5,
			sweepIntervalSeconds: 60,
			rateLimits: true,
			trustProxy: 0,
			devIdp: false
		});
		expect(result.config.providers).toEqual([expect.objectContaining({ id: 'orcid', kind: 'orcid', baseUrl: 'https://orcid.org', scopes: ['openid'] })]);
		expect(result.config.clients.map((c) => c.id)).toEqual(['demo-cli']);
	});

	it('each bad variable gives one line naming it', () => {
		const result = loadConfig({ ...orcid, POLL_INTERVAL: 'soon', DEVICE_CODE_TTL: '-1', ORIGIN: 'ftp://x', RATE_LIMITS: 'maybe' });
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(result.errors).toHaveLength(4);
		expect(result.errors.map((line) => line.split(':')[0]).sort()).toEqual(['DEVICE_CODE_TTL', 'ORIGIN', 'POLL_INTERVAL', 'RATE_LIMITS']);
		expect(result.errors.every((line) => !line.includes('\n'))).toBe(true);
	});

	it('a provider base URL must be https, or plain http on a loopback address', () => {
		expect(loadConfig({ ...orcid, ORCID_BASE_URL: 'http://orcid.example' }).ok).toBe(false);
		expect(loadConfig({ ...orcid, ORCID_BASE_URL: 'http://127.0.0.1:9000' }).ok).toBe(true);
		expect(loadConfig({ ...orcid, ORCID_BASE_URL: 'https://sandbox.orcid.org/' }).ok).toBe(true);
	});

	it('Clerk needs its base URL; a half-configured provider is an error', () => {
		const clerk = loadConfig({ CLERK_CLIENT_ID: 'c', CLERK_CLIENT_SECRET: 's' });
		expect(clerk.ok ? [] : clerk.errors).toEqual([expect.stringMatching(/^CLERK_BASE_URL: required/)]);
		const half = loadConfig({ ORCID_CLIENT_ID: 'x' });
		expect(half.ok ? [] : half.errors).toEqual([expect.stringMatching(/^ORCID_CLIENT_SECRET: required/)]);
	});

	it('METRICS_TOKEN must be long enough not to be guessed, and is never repeated in the message', () => {
		const short = loadConfig({ ...orcid, METRICS_TOKEN: 'hunter2' });
		expect(short.ok ? [] : short.errors).toEqual(['METRICS_TOKEN: must be at least 24 characters without spaces (e.g. openssl rand -hex 24)']);
		expect(loadConfig({ ...orcid, METRICS_TOKEN: 'prometheus-scrape-token-for-the-tests' }).ok).toBe(true);
	});

	it('with no provider at all start-up stops and says how to configure one', () => {
		const result = loadConfig({});
		expect(result.ok ? [] : result.errors).toEqual([expect.stringMatching(/no sign-in provider is configured/)]);
	});

	it('DEV_IDP is refused in production, and production needs ORIGIN, CLIENTS_FILE and KEY_ENCRYPTION_SECRET', () => {
		const result = loadConfig({ NODE_ENV: 'production', DEV_IDP: '1' });
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(result.errors.map((line) => line.split(':')[0]).sort()).toEqual(['CLIENTS_FILE', 'DEV_IDP', 'KEY_ENCRYPTION_SECRET', 'ORIGIN']);
		expect(result.errors.find((line) => line.startsWith('KEY_ENCRYPTION_SECRET'))).toBe(
			'KEY_ENCRYPTION_SECRET: required when NODE_ENV=production: without it the private signing keys are stored unencrypted, and anyone with a copy of the database or a backup could sign tokens (e.g. openssl rand -base64 48)'
		);
	});

	it("ADMIN_SUBJECTS accepts a configured provider's sub and email:, and names a bad entry", () => {
		const clerk = { CLERK_CLIENT_ID: 'c', CLERK_CLIENT_SECRET: 's', CLERK_BASE_URL: 'https://clerk.lab.example' };
		const good = loadConfig({ ...orcid, ...clerk, ADMIN_SUBJECTS: 'orcid:0000-0002-1825-0097, email:Admin@Lab.Example ,clerk:user_1' });
		expect(good.ok && good.config.adminSubjects).toEqual(['orcid:0000-0002-1825-0097', 'email:admin@lab.example', 'clerk:user_1']);
		const bad = loadConfig({ ...orcid, ADMIN_SUBJECTS: 'root' });
		expect(bad.ok ? [] : bad.errors).toEqual([expect.stringMatching(/^ADMIN_SUBJECTS: "root"/)]);
	});

	it("ADMIN_SUBJECTS takes any PROVIDERS_FILE provider's sub, and refuses a provider that is not configured", () => {
		const providers = () =>
			JSON.stringify({ providers: [{ id: 'acme', kind: 'oidc', name: 'Acme SSO', issuer: 'https://sso.acme.example', client_id: 'd', client_secret: 's' }] });
		const good = loadConfig({ ...orcid, PROVIDERS_FILE: 'p.json', ADMIN_SUBJECTS: 'acme:ada-0001,orcid:0000-0002-1825-0097' }, providers);
		expect(good.ok && good.config.adminSubjects).toEqual(['acme:ada-0001', 'orcid:0000-0002-1825-0097']);
		const unconfigured = loadConfig({ ...orcid, PROVIDERS_FILE: 'p.json', ADMIN_SUBJECTS: 'github:583231' }, providers);
		expect(unconfigured.ok ? [] : unconfigured.errors).toEqual([
			'ADMIN_SUBJECTS: "github:583231" must be <provider id>:<subject> or email:<address>, with a configured provider (orcid:, acme:, email:)'
		]);
		// The local identity provider stands in for ORCID and Clerk, so their subs name admins there.
		expect(loadConfig({ DEV_IDP: '1', ADMIN_SUBJECTS: 'clerk:user_1' }).ok).toBe(true);
	});

	it("a PROVIDERS_FILE provider alone is a configured provider, and the sign-in order is ORCID, Clerk, then the file's", () => {
		const file = () =>
			JSON.stringify({
				providers: [
					{ id: 'github', kind: 'github', name: 'GitHub', client_id: 'Iv1.abc', client_secret_env: 'GITHUB_SECRET' },
					{ id: 'acme', kind: 'oidc', name: 'Acme SSO', issuer: 'https://sso.acme.example', client_id: 'd', client_secret: 's' }
				]
			});
		const alone = loadConfig({ PROVIDERS_FILE: 'p.json', GITHUB_SECRET: 'from-the-environment' }, file);
		expect(alone.ok && alone.config.providers.map((provider) => provider.id)).toEqual(['github', 'acme']);
		const after = loadConfig({ ...orcid, PROVIDERS_FILE: 'p.json', GITHUB_SECRET: 'x' }, file);
		expect(after.ok && after.config.providers.map((provider) => provider.name)).toEqual(['ORCID', 'GitHub', 'Acme SSO']);
		const unreadable = loadConfig({ PROVIDERS_FILE: 'missing.json' }, noFile);
		expect(unreadable.ok ? [] : unreadable.errors).toEqual(['PROVIDERS_FILE: cannot read missing.json (ENOENT)']);
	});

	it('CLIENTS_FILE is read, and a bad entry stops start-up naming the entry', () => {
		const file = (text: string) => () => text;
		const good = loadConfig({ ...orcid, CLIENTS_FILE: 'c.json' }, file('{"clients":[{"id":"acme-cli","name":"Acme CLI","type":"public","scopes":["read"]}]}'));
		expect(good.ok && good.config.clients).toEqual([{ id: 'acme-cli', name: 'Acme CLI', type: 'public', scopes: ['read'] }]);
		const bad = loadConfig({ ...orcid, CLIENTS_FILE: 'c.json' }, file('{"clients":[{"id":"acme-api","name":"Acme API","type":"confidential","scopes":[]}]}'));
		expect(bad.ok ? [] : bad.errors).toEqual([
			'CLIENTS_FILE: c.json: client "acme-api": a confidential client needs secret_sha256: the hex SHA-256 of its secret'
		]);
		const missing = loadConfig({ ...orcid, CLIENTS_FILE: 'nope.json' }, noFile);
		expect(missing.ok ? [] : missing.errors).toEqual(['CLIENTS_FILE: cannot read nope.json (ENOENT)']);
	});

	it('production refuses a plain-http ORIGIN except on loopback, where no one else can listen', () => {
		const production = { ...orcid, NODE_ENV: 'production', CLIENTS_FILE: 'clients.json', KEY_ENCRYPTION_SECRET: 'k'.repeat(32) };
		const clients = () => JSON.stringify({ clients: [{ id: 'a', name: 'A', type: 'public', scopes: [] }] });
		expect(loadConfig({ ...production, ORIGIN: 'http://login.example.org' }, clients)).toEqual({
			ok: false,
			errors: [
				'ORIGIN: must be https when NODE_ENV=production (plain http only on a loopback address; got "http://login.example.org"); put doorcode behind a TLS-terminating proxy'
			]
		});
		expect(loadConfig({ ...production, ORIGIN: 'http://127.0.0.1:3000' }, clients).ok).toBe(true);
		expect(loadConfig({ ...production, ORIGIN: 'https://login.example.org' }, clients).ok).toBe(true);
	});

	it('a CLIENTS_FILE entry with unknown keys starts, with a warning naming file, client and keys', () => {
		const text = JSON.stringify({ clients: [{ id: 'a', name: 'A', type: 'public', scopes: [], audiences: [] }] });
		expect(loadConfig({ ...orcid, CLIENTS_FILE: 'clients.json' }, () => text)).toMatchObject({
			ok: true,
			warnings: ['CLIENTS_FILE: clients.json: client "a": ignoring unknown key "audiences"']
		});
	});

	it('an allow naming a provider no one can sign in with here starts, with a warning naming client and provider', () => {
		const text = JSON.stringify({
			allow: { providers: ['orcid'] },
			clients: [{ id: 'a', name: 'A', type: 'public', scopes: [], allow: { providers: ['orcid', 'gitlab'] } }]
		});
		expect(loadConfig({ ...orcid, CLIENTS_FILE: 'clients.json' }, () => text)).toMatchObject({
			ok: true,
			warnings: ['CLIENTS_FILE: client "a": allow.providers names "gitlab", which no one can sign in with here (configured: orcid)']
		});
		const bad = JSON.stringify({ clients: [{ id: 'a', name: 'A', type: 'public', scopes: [], allow: { groups: [] } }] });
		expect(loadConfig({ ...orcid, CLIENTS_FILE: 'clients.json' }, () => bad)).toEqual({
			ok: false,
			errors: ['CLIENTS_FILE: clients.json: client "a": allow.groups must list group names such as "acme" or "acme/platform", as the provider names them']
		});
	});

	it('providers are named as people know them; an id that names none stays itself', () => {
		const result = loadConfig({ ...orcid });
		if (!result.ok) throw new Error(result.errors.join('\n'));
		expect(['orcid', 'clerk', 'acme', 'constructor'].map((id) => providerName(result.config, id))).toEqual(['ORCID', 'Clerk', 'acme', 'constructor']);
	});
});
