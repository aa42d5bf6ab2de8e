import { SCOPE_TOKEN } from './clients';
import { isHttpsOrLoopback } from './addresses';

/**
 * The sign-in providers: ORCID and Clerk from their variables (config.ts), and any
 * number of OpenID Connect issuers and GitHubs from PROVIDERS_FILE, in that order.
 * A provider's id is the path /login/<id> and the prefix of its people's `sub`.
 */

interface ProviderSettings {
	/** `[a-z0-9-]{1,32}`: the path /login/<id> and the prefix of the person's sub. */
	id: string;
	/** How people know it: "ORCID", "Acme SSO"; the button says "Sign in with <name>". */
	name: string;
	clientId: string;
	clientSecret: string;
	scopes: string[];
}

/** ORCID and Clerk: fixed endpoints below baseUrl (/oauth/authorize, /oauth/token, /oauth/userinfo). */
export interface BuiltInProviderConfig extends ProviderSettings {
	kind: 'orcid' | 'clerk';
	baseUrl: string;
}

/** Any OpenID Connect issuer, found by discovery at {issuer}/.well-known/openid-configuration. */
export interface OidcProviderConfig extends ProviderSettings {
	kind: 'oidc';
	issuer: string;
	/** The claim (ID token, else userinfo) holding the person's groups; null: the issuer's groups are not read. */
	groupsClaim: string | null;
}

/** GitHub, or a GitHub Enterprise Server: the web at baseUrl, the REST API at apiUrl. */
export interface GitHubProviderConfig extends ProviderSettings {
	kind: 'github';
	baseUrl: string;
	apiUrl: string;
}

export type ProviderConfig = BuiltInProviderConfig | OidcProviderConfig | GitHubProviderConfig;

/** ORCID and Clerk as SPEC names them: how people know them, and the scopes doorcode asks them for. */
export const BUILT_IN_PROVIDERS = {
	orcid: { kind: 'orcid', id: 'orcid', name: 'ORCID', scopes: ['openid'] },
	clerk: { kind: 'clerk', id: 'clerk', name: 'Clerk', scopes: ['openid', 'profile', 'email'] }
} as const satisfies Record<string, Pick<BuiltInProviderConfig, 'kind' | 'id' | 'name' | 'scopes'>>;

/** Ids a PROVIDERS_FILE entry may not take: ORCID's and Clerk's, and `email:` (an admin's owner by address). */
export const RESERVED_PROVIDER_IDS = ['orcid', 'clerk', 'email'];

export const PROVIDER_ID = /^[a-z0-9-]{1,32}$/;

export function findProvider(providers: readonly ProviderConfig[], id: string): ProviderConfig | undefined {
	return providers.find((provider) => provider.id === id);
}

export type ProvidersFileResult = { ok: true; providers: ProviderConfig[]; warnings: string[] } | { ok: false; error: string };

const COMMON_KEYS = ['id', 'kind', 'name', 'client_id', 'client_secret', 'client_secret_env', 'scopes'];
const KIND_KEYS = { oidc: ['issuer', 'groups_claim'], github: ['base_url', 'api_url'] };
const DEFAULT_SCOPES = { oidc: ['openid', 'profile', 'email'], github: ['read:user', 'user:email', 'read:org'] };

type Env = Record<string, string | undefined>;

/**
 * Parses PROVIDERS_FILE's text; the first bad entry is refused with a message naming it.
 * `client_secret_env` is read from `env`. Unknown keys give warnings.
 */
export function parseProvidersFile(text: string, env: Env): ProvidersFileResult {
	let document: unknown;
	try {
		document = JSON.parse(text);
	} catch (error) {
		return { ok: false, error: `is not valid JSON (${(error as Error).message})` };
	}
	const entries = (document as { providers?: unknown } | null)?.providers;
	if (!Array.isArray(entries)) return { ok: false, error: 'must be {"providers": [...]}' };
	const warnings: string[] = [];
	const unknownTop = Object.keys(document as object).filter((key) => key !== 'providers');
	if (unknownTop.length) warnings.push(`ignoring unknown top-level ${keysWord(unknownTop)}`);
	const providers: ProviderConfig[] = [];
	for (const [index, entry] of entries.entries()) {
		const label = typeof entry?.id === 'string' ? `provider "${entry.id}"` : `providers[${index}]`;
		const parsed = parseEntry(entry, env);
		if (typeof parsed === 'string') return { ok: false, error: `${label}: ${parsed}` };
		if (providers.some((provider) => provider.id === parsed.id)) return { ok: false, error: `${label}: the id is declared twice` };
		const known = [...COMMON_KEYS, ...KIND_KEYS[parsed.kind]];
		const unknown = Object.keys(entry as object).filter((key) => !known.includes(key));
		if (unknown.length) warnings.push(`${label}: ignoring unknown ${keysWord(unknown)}`);
		providers.push(parsed);
	}
	return { ok: true, providers, warnings };
}

function keysWord(keys: string[]): string {
	return `${keys.length === 1 ? 'key' : 'keys'} ${keys.map((key) => JSON.stringify(key)).join(', ')}`;
}

function parseEntry(entry: unknown, env: Env): OidcProviderConfig | GitHubProviderConfig | string {
	if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'must be an object';
	const fields = entry as Record<string, unknown>;
	const { id, kind, name, client_id } = fields;
	if (typeof id !== 'string' || !PROVIDER_ID.test(id)) return 'id must be 1-32 characters of a-z, 0-9 and "-"';
	if (RESERVED_PROVIDER_IDS.includes(id)) {
		return `the id "${id}" is reserved (${id === 'email' ? 'admins name owners by email:<address>' : `${id} is configured with its own variables`})`;
	}
	if (kind !== 'oidc' && kind !== 'github') return 'kind must be "oidc" or "github"';
	if (typeof name !== 'string' || name.trim() === '' || name.length > 60) return 'name must be a non-empty string of at most 60 characters';
	if (typeof client_id !== 'string' || client_id.trim() === '') return 'client_id must be a non-empty string';
	const clientSecret = readClientSecret(fields, env);
	if (!clientSecret.ok) return clientSecret.error;
	const scopes = readScopes(fields.scopes, DEFAULT_SCOPES[kind]);
	if (typeof scopes === 'string') return scopes;
	const settings = { id, name: name.trim(), clientId: client_id.trim(), clientSecret: clientSecret.value, scopes };
	if (kind === 'oidc') {
		if (!scopes.includes('openid')) return 'scopes must include "openid"';
		const issuer = readUrl(fields.issuer, 'issuer', undefined);
		if (!issuer.ok) return issuer.error;
		const { groups_claim } = fields;
		if (groups_claim !== undefined && (typeof groups_claim !== 'string' || groups_claim.trim() === '')) {
			return 'groups_claim must be the name of a claim, e.g. "groups"';
		}
		return { kind, ...settings, issuer: issuer.value, groupsClaim: groups_claim?.trim() ?? null };
	}
	const baseUrl = readUrl(fields.base_url, 'base_url', 'https://github.com');
	if (!baseUrl.ok) return baseUrl.error;
	const apiUrl = readUrl(fields.api_url, 'api_url', 'https://api.github.com');
	if (!apiUrl.ok) return apiUrl.error;
	return { kind, ...settings, baseUrl: baseUrl.value.replace(/\/+$/, ''), apiUrl: apiUrl.value.replace(/\/+$/, '') };
}

type Read<T> = { ok: true; value: T } | { ok: false; error: string };

/** The secret in the file, or in the variable it names: exactly one of them. Never repeated in a message. */
function readClientSecret({ client_secret, client_secret_env }: Record<string, unknown>, env: Env): Read<string> {
	if (client_secret !== undefined && client_secret_env !== undefined) return { ok: false, error: 'give client_secret or client_secret_env, not both' };
	if (client_secret_env !== undefined) {
		if (typeof client_secret_env !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(client_secret_env)) {
			return { ok: false, error: 'client_secret_env must name an environment variable, e.g. "ACME_CLIENT_SECRET"' };
		}
		const value = env[client_secret_env]?.trim();
		return value ? { ok: true, value } : { ok: false, error: `client_secret_env names ${client_secret_env}, which is not set` };
	}
	if (typeof client_secret !== 'string' || client_secret.trim() === '') {
		return { ok: false, error: 'needs its client secret: client_secret, or client_secret_env naming the variable that holds it' };
	}
	return { ok: true, value: client_secret.trim() };
}

function readScopes(value: unknown, fallback: string[]): string[] | string {
	if (value === undefined) return [...fallback];
	if (!Array.isArray(value) || value.length === 0 || !value.every((scope) => typeof scope === 'string' && SCOPE_TOKEN.test(scope))) {
		return 'scopes must be a non-empty array of scope names without spaces or quotes';
	}
	return [...new Set(value as string[])];
}

/** An https URL (plain http only on a loopback address), as ORCID_BASE_URL. */
function readUrl(value: unknown, key: string, fallback: string | undefined): Read<string> {
	if (value === undefined && fallback !== undefined) return { ok: true, value: fallback };
	const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : null;
	if (!url || !isHttpsOrLoopback(url) || url.search || url.hash || url.username || url.password) {
		return { ok: false, error: `${key} must be an https URL (plain http only on a loopback address)${typeof value === 'string' ? ` (got "${value}")` : ''}` };
	}
	return { ok: true, value: value as string };
}
