import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import { parseProvidersFile } from './providers';

const acme = { id: 'acme', kind: 'oidc', name: 'Acme SSO', issuer: 'https://sso.acme.example', client_id: 'doorcode', client_secret: 'file-secret' };
const github = { id: 'github', kind: 'github', name: 'GitHub', client_id: 'Iv1.abc', client_secret_env: 'GITHUB_CLIENT_SECRET' };
const env = { GITHUB_CLIENT_SECRET: 'env-secret' };

function parse(...providers: unknown[]) {
	return parseProvidersFile(JSON.stringify({ providers }), env);
}

function errorOf(...providers: unknown[]): string {
	const result = parse(...providers);
	return result.ok ? '' : result.error;
}

describe('PROVIDERS_FILE', () => {
	it("reads SPEC's example with each kind's defaults, in the file's order", () => {
		const result = parse({ ...acme, scopes: ['openid', 'profile', 'email', 'groups'], groups_claim: 'groups' }, github);
		expect(result).toEqual({
			ok: true,
			warnings: [],
			providers: [
				{
					kind: 'oidc',
					id: 'acme',
					name: 'Acme SSO',
					clientId: 'doorcode',
					clientSecret: 'file-secret',
					scopes: ['openid', 'profile', 'email', 'groups'],
					issuer: 'https://sso.acme.example',
					groupsClaim: 'groups'
				},
				{
					kind: 'github',
					id: 'github',
					name: 'GitHub',
					clientId: 'Iv1.abc',
					clientSecret: 'env-secret',
					scopes: ['read:user', 'user:email', 'read:org'],
					baseUrl: 'https://github.com',
					apiUrl: 'https://api.github.com'
				}
			]
		});
		const plain = parse(acme);
		expect(plain.ok && plain.providers[0]).toMatchObject({ scopes: ['openid', 'profile', 'email'], groupsClaim: null });
	});

	it('takes a GitHub Enterprise Server by base_url and api_url', () => {
		const result = parse({ ...github, base_url: 'https://github.acme.example/', api_url: 'https://github.acme.example/api/v3' });
		expect(result.ok && result.providers[0]).toMatchObject({ baseUrl: 'https://github.acme.example', apiUrl: 'https://github.acme.example/api/v3' });
	});

	it('refuses a bad entry with one line naming it', () => {
		expect(errorOf({ ...acme, id: 'Acme' })).toBe('provider "Acme": id must be 1-32 characters of a-z, 0-9 and "-"');
		expect(errorOf({ ...acme, id: 'a'.repeat(33) })).toMatch(/^provider "a{33}": id must be 1-32/);
		expect(errorOf({ ...acme, id: 'email' })).toBe('provider "email": the id "email" is reserved (admins name owners by email:<address>)');
		expect(errorOf({ ...acme, id: 'orcid' })).toBe('provider "orcid": the id "orcid" is reserved (orcid is configured with its own variables)');
		expect(errorOf({ ...acme, id: 'clerk' })).toMatch(/^provider "clerk": the id "clerk" is reserved/);
		expect(errorOf(acme, { ...github, id: 'acme' })).toBe('provider "acme": the id is declared twice');
		expect(errorOf({ ...acme, kind: 'saml' })).toBe('provider "acme": kind must be "oidc" or "github"');
		expect(errorOf({ ...acme, name: ' ' })).toMatch(/^provider "acme": name must be a non-empty string/);
		expect(errorOf({ ...acme, client_id: undefined })).toBe('provider "acme": client_id must be a non-empty string');
		expect(errorOf({ ...acme, scopes: ['profile'] })).toBe('provider "acme": scopes must include "openid"');
		expect(errorOf({ ...acme, scopes: ['openid email'] })).toMatch(/^provider "acme": scopes must be a non-empty array/);
		expect(errorOf({ ...acme, groups_claim: 7 })).toMatch(/^provider "acme": groups_claim must be the name of a claim/);
		expect(errorOf('acme')).toBe('providers[0]: must be an object');
		expect(parseProvidersFile('{"providers": {}}', env)).toEqual({ ok: false, error: 'must be {"providers": [...]}' });
		expect(parseProvidersFile('{', env)).toMatchObject({ ok: false, error: expect.stringMatching(/^is not valid JSON/) });
	});

	it('wants the secret in the file or in a variable that is set, and never repeats it', () => {
		expect(errorOf({ ...acme, client_secret: undefined })).toBe(
			'provider "acme": needs its client secret: client_secret, or client_secret_env naming the variable that holds it'
		);
		expect(errorOf({ ...acme, client_secret_env: 'ACME_SECRET' })).toBe('provider "acme": give client_secret or client_secret_env, not both');
		expect(errorOf({ ...github, client_secret_env: 'UNSET_SECRET' })).toBe('provider "github": client_secret_env names UNSET_SECRET, which is not set');
		expect(errorOf({ ...github, client_secret_env: 'not a name' })).toMatch(/^provider "github": client_secret_env must name an environment variable/);
		for (const line of [errorOf({ ...acme, client_secret_env: 'X' }), errorOf({ ...acme, issuer: 'ftp://x' })]) expect(line).not.toContain('file-secret');
	});

	it('an issuer, base_url or api_url must be https, or plain http on a loopback address', () => {
		expect(errorOf({ ...acme, issuer: 'http://sso.acme.example' })).toBe(
			'provider "acme": issuer must be an https URL (plain http only on a loopback address) (got "http://sso.acme.example")'
		);
		expect(errorOf({ ...acme, issuer: 'https://sso.acme.example/?tenant=1' })).toMatch(/^provider "acme": issuer must be an https URL/);
		expect(errorOf({ ...acme, issuer: undefined })).toMatch(/^provider "acme": issuer must be an https URL/);
		expect(errorOf({ ...github, base_url: 'http://github.acme.example' })).toMatch(/^provider "github": base_url must be an https URL/);
		expect(errorOf({ ...github, api_url: 'http://10.0.0.1/api/v3' })).toMatch(/^provider "github": api_url must be an https URL/);
		expect(parse({ ...acme, issuer: 'http://127.0.0.1:9000' }).ok).toBe(true);
		expect(parse({ ...github, base_url: 'http://localhost:9001', api_url: 'http://[::1]:9001/api/v3' }).ok).toBe(true);
	});

	it('warns about keys it does not know, naming the entry', () => {
		const result = parseProvidersFile(JSON.stringify({ providers: [{ ...acme, groups_cliam: 'groups' }], allow: {} }), env);
		expect(result.ok && result.warnings).toEqual(['ignoring unknown top-level key "allow"', 'provider "acme": ignoring unknown key "groups_cliam"']);
	});

	it('a bad entry stops start-up with one line naming the file and the entry', () => {
		const result = loadConfig({ PROVIDERS_FILE: '/etc/doorcode/providers.json' }, () => JSON.stringify({ providers: [{ ...acme, issuer: 'http://x' }] }));
		expect(result.ok ? [] : result.errors).toEqual([
			'PROVIDERS_FILE: /etc/doorcode/providers.json: provider "acme": issuer must be an https URL (plain http only on a loopback address) (got "http://x")'
		]);
		const warned = loadConfig({ PROVIDERS_FILE: 'p.json' }, () => JSON.stringify({ providers: [{ ...acme, colour: 'blue' }] }));
		expect(warned.ok && warned.warnings).toEqual(['PROVIDERS_FILE: p.json: provider "acme": ignoring unknown key "colour"']);
	});
});
