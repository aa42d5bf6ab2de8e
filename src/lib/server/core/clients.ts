import { isLoopbackAddress } from './addresses';
import { approvalRuleDeclaration, parseApprovalRule, type ApprovalRule } from './approval-rule';
import { hexDigestsEqual, sha256Hex } from './crypto';

/** The client_id personal access tokens report: they belong to no CLI, and no client may take it. */
export const PERSONAL_CLIENT_ID = 'personal-access-token';

/** RFC 8628's grant, the one every client has unless its grant_types say otherwise. */
export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/** The grants a client may be allowed (its `grant_types`). */
export const GRANT_TYPES = [DEVICE_CODE_GRANT_TYPE, 'refresh_token', 'authorization_code'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** A client's grant_types when it names none (SPEC). */
export const DEFAULT_GRANT_TYPES: readonly GrantType[] = [DEVICE_CODE_GRANT_TYPE, 'refresh_token'];

/** Who manages a client: CLIENTS_FILE (read-only elsewhere), an admin or the operator, or RFC 7591 registration. */
export type ClientManager = 'file' | 'admin' | 'registration';

/**
 * A CLI allowed to ask for codes, with its policy: declared in CLIENTS_FILE, or made at run
 * time (the operator's command, the admin pages, registration) through the same parse. A
 * setting left out follows the server's own (DEVICE_CODE_TTL, ACCESS_TOKEN_TTL, …).
 */
export interface Client {
	id: string;
	name: string;
	type: 'public' | 'confidential';
	scopes: string[];
	/** Hex SHA-256 of a confidential client's secret; never the secret itself. */
	secretSha256?: string;
	/** The grants it may use; DEFAULT_GRANT_TYPES when not given. */
	grantTypes?: GrantType[];
	/** Where the authorization code flow may send its answer (RFC 8252: https, or http on a loopback address). */
	redirectUris?: string[];
	/** "jwt": RFC 9068 access tokens an API verifies by itself; else opaque ones. */
	accessTokenFormat?: 'opaque' | 'jwt';
	/** The `aud` of its JWT access tokens (default ORIGIN). */
	audience?: string;
	/** Seconds its access tokens (and ID tokens) live, instead of ACCESS_TOKEN_TTL. */
	accessTokenTtlSeconds?: number;
	/** Seconds its refresh tokens live, instead of REFRESH_TOKEN_TTL. */
	refreshTokenTtlSeconds?: number;
	/** Seconds its codes live, instead of DEVICE_CODE_TTL. */
	deviceCodeTtlSeconds?: number;
	/** Seconds between its polls, instead of POLL_INTERVAL. */
	pollIntervalSeconds?: number;
	/** "refuse": a code requested from another network than the approving browser's can only be denied; "warn" (the default) says so. */
	addressMismatch?: 'warn' | 'refuse';
	/** RFC 9449 §5.3: it always uses DPoP, so a request of its without a proof is refused. */
	dpopBoundAccessTokens?: boolean;
	/** Who may approve its codes: its own `allow`, else CLIENTS_FILE's top-level one; none admits anyone who can sign in. */
	allow?: ApprovalRule;
}

/** The grants a client may use. */
export function grantTypesOf(client: Client): readonly GrantType[] {
	return client.grantTypes ?? DEFAULT_GRANT_TYPES;
}

export function mayUseGrant(client: Client, grantType: string): boolean {
	return (grantTypesOf(client) as readonly string[]).includes(grantType);
}

/** `warnings` name keys doorcode does not know (a typo would otherwise change nothing, silently). */
export type ClientsResult = { ok: true; clients: Client[]; warnings: string[] } | { ok: false; error: string };

/** Every key a client's declaration may hold, by SPEC's names. */
export const CLIENT_KEYS = [
	'id',
	'name',
	'type',
	'scopes',
	'secret_sha256',
	'grant_types',
	'redirect_uris',
	'access_token_format',
	'audience',
	'access_token_ttl',
	'refresh_token_ttl',
	'device_code_ttl',
	'poll_interval',
	'address_mismatch',
	'dpop_bound_access_tokens',
	'allow'
];

/**
 * The development client that exists when no CLIENTS_FILE is given (SPEC): the reference CLI's,
 * so it may sign in both ways, through a browser on its own machine at a loopback port too.
 */
export const DEMO_CLIENT: Client = {
	id: 'demo-cli',
	name: 'Demo CLI',
	type: 'public',
	scopes: ['read', 'write'],
	grantTypes: [DEVICE_CODE_GRANT_TYPE, 'authorization_code', 'refresh_token'],
	redirectUris: ['http://127.0.0.1/callback']
};

const CLIENT_ID = /^[A-Za-z0-9._~-]{1,64}$/;
// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** The seconds each lifetime setting may take: the lifetimes' own variables' bounds, access tokens a day at most. */
export const LIFETIME_BOUNDS = {
	access_token_ttl: [30, 86_400],
	refresh_token_ttl: [60, 365 * 86_400],
	device_code_ttl: [1, 86_400],
	poll_interval: [1, 300]
} as const;

/** Parses CLIENTS_FILE's text; a bad entry is refused with a message naming it. */
export function parseClients(text: string): ClientsResult {
	let document: unknown;
	try {
		document = JSON.parse(text);
	} catch (error) {
		return { ok: false, error: `is not valid JSON (${(error as Error).message})` };
	}
	const { clients: entries, allow } = (document ?? {}) as { clients?: unknown; allow?: unknown };
	if (!Array.isArray(entries) || entries.length === 0) {
		return { ok: false, error: 'must be {"clients": [...]} with at least one client' };
	}
	const warnings: string[] = [];
	const defaultRule = allow === undefined ? undefined : parseApprovalRule(allow);
	if (defaultRule && !defaultRule.ok) return { ok: false, error: `the top-level ${defaultRule.error}` };
	if (defaultRule)
		warnings.push(
			...unknownKeysWarning(
				'the top-level allow',
				defaultRule.unknownKeys.map((key) => `allow.${key}`)
			)
		);
	const clients: Client[] = [];
	for (const [index, entry] of entries.entries()) {
		const parsed = parseClient(entry);
		const name = typeof entry?.id === 'string' ? `client "${entry.id}"` : `clients[${index}]`;
		if (typeof parsed === 'string') return { ok: false, error: `${name}: ${parsed}` };
		if (clients.some((client) => client.id === parsed.id)) {
			return { ok: false, error: `${name}: the id is declared twice` };
		}
		warnings.push(...unknownKeysWarning(name, unknownClientKeys(entry as object)));
		clients.push(parsed.allow || !defaultRule ? parsed : { ...parsed, allow: defaultRule.rule });
	}
	return { ok: true, clients, warnings };
}

function unknownKeysWarning(name: string, keys: string[]): string[] {
	if (keys.length === 0) return [];
	return [`${name}: ignoring unknown ${keys.length === 1 ? 'key' : 'keys'} ${keys.map((key) => JSON.stringify(key)).join(', ')}`];
}

/** The keys of a declaration that no setting has, `allow`'s own included (`allow.<key>`). */
export function unknownClientKeys(entry: object): string[] {
	const { allow } = entry as { allow?: unknown };
	const rule = allow === undefined ? undefined : parseApprovalRule(allow);
	return [...Object.keys(entry).filter((key) => !CLIENT_KEYS.includes(key)), ...(rule?.ok ? rule.unknownKeys.map((key) => `allow.${key}`) : [])];
}

/**
 * One client's declaration, by SPEC's names: CLIENTS_FILE's entries, the operator's
 * `clients add`, and later the admin pages and registration all come through here. A
 * message naming the first bad setting, or the client.
 */
export function parseClient(entry: unknown): Client | string {
	if (typeof entry !== 'object' || entry === null) return 'must be an object';
	const { id, name, type, scopes, secret_sha256 } = entry as Record<string, unknown>;
	if (typeof id !== 'string' || !CLIENT_ID.test(id)) {
		return 'id must be 1-64 characters of letters, digits, ".", "_", "~" or "-"';
	}
	if (id === PERSONAL_CLIENT_ID) return `the id "${PERSONAL_CLIENT_ID}" is reserved: personal access tokens report it as their client_id`;
	if (typeof name !== 'string' || name.trim() === '' || name.length > 100) return 'name must be a non-empty string of at most 100 characters';
	if (type !== 'public' && type !== 'confidential') return 'type must be "public" or "confidential"';
	if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && SCOPE_TOKEN.test(s))) {
		return 'scopes must be an array of scope names without spaces or quotes';
	}
	let secret: Pick<Client, 'secretSha256'> = {};
	if (type === 'confidential') {
		if (typeof secret_sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(secret_sha256)) {
			return 'a confidential client needs secret_sha256: the hex SHA-256 of its secret';
		}
		secret = { secretSha256: secret_sha256.toLowerCase() };
	} else if (secret_sha256 !== undefined) {
		return 'a public client has no secret; remove secret_sha256 or make it confidential';
	}
	const policy = parsePolicy(entry as Record<string, unknown>);
	if (typeof policy === 'string') return policy;
	return { id, name: name.trim(), type, scopes: [...new Set(scopes as string[])], ...secret, ...policy };
}

type Policy = Omit<Client, 'id' | 'name' | 'type' | 'scopes' | 'secretSha256'>;

/** Every optional setting, each checked; a message naming the first bad one. */
function parsePolicy(entry: Record<string, unknown>): Policy | string {
	const policy: Policy = {};
	const grants = parseGrantTypes(entry.grant_types);
	if (typeof grants === 'string') return grants;
	if (grants) policy.grantTypes = grants;
	const redirects = parseRedirectUris(entry.redirect_uris);
	if (typeof redirects === 'string') return redirects;
	if (redirects) policy.redirectUris = redirects;
	if ((policy.grantTypes ?? []).includes('authorization_code') && !policy.redirectUris?.length) {
		return 'a client with the authorization_code grant needs redirect_uris';
	}
	const { access_token_format, audience, address_mismatch, dpop_bound_access_tokens } = entry;
	if (access_token_format !== undefined) {
		if (access_token_format !== 'opaque' && access_token_format !== 'jwt') return 'access_token_format must be "opaque" or "jwt"';
		policy.accessTokenFormat = access_token_format;
	}
	if (audience !== undefined) {
		if (typeof audience !== 'string' || !URL.canParse(audience) || audience.length > 300)
			return 'audience must be the absolute URL of the API, e.g. "https://api.example.org"';
		policy.audience = audience;
	}
	const lifetimes: [keyof typeof LIFETIME_BOUNDS, 'accessTokenTtlSeconds' | 'refreshTokenTtlSeconds' | 'deviceCodeTtlSeconds' | 'pollIntervalSeconds'][] = [
		['access_token_ttl', 'accessTokenTtlSeconds'],
		['refresh_token_ttl', 'refreshTokenTtlSeconds'],
		['device_code_ttl', 'deviceCodeTtlSeconds'],
		['poll_interval', 'pollIntervalSeconds']
	];
	for (const [key, field] of lifetimes) {
		const value = entry[key];
		if (value === undefined) continue;
		const [min, max] = LIFETIME_BOUNDS[key];
		if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
			return `${key} must be a whole number of seconds from ${min} to ${max}`;
		}
		policy[field] = value;
	}
	if (address_mismatch !== undefined) {
		if (address_mismatch !== 'warn' && address_mismatch !== 'refuse') return 'address_mismatch must be "warn" or "refuse"';
		policy.addressMismatch = address_mismatch;
	}
	if (dpop_bound_access_tokens !== undefined) {
		if (typeof dpop_bound_access_tokens !== 'boolean') return 'dpop_bound_access_tokens must be true or false';
		if (dpop_bound_access_tokens) policy.dpopBoundAccessTokens = true;
	}
	if (entry.allow !== undefined) {
		const rule = parseApprovalRule(entry.allow);
		if (!rule.ok) return rule.error;
		policy.allow = rule.rule;
	}
	return policy;
}

function parseGrantTypes(value: unknown): GrantType[] | undefined | string {
	if (value === undefined) return undefined;
	const known = GRANT_TYPES as readonly unknown[];
	if (!Array.isArray(value) || value.length === 0 || !value.every((grant) => known.includes(grant))) {
		return `grant_types must be a non-empty array of ${GRANT_TYPES.map((grant) => `"${grant}"`).join(', ')}`;
	}
	const grants = [...new Set(value as GrantType[])];
	if (!grants.includes(DEVICE_CODE_GRANT_TYPE) && !grants.includes('authorization_code')) {
		return `grant_types must include "${DEVICE_CODE_GRANT_TYPE}" or "authorization_code": refresh_token alone starts no login`;
	}
	return grants;
}

/** RFC 8252 §7.3, §8.3: https, or plain http to a loopback address (never the name localhost); no fragment (RFC 6749 §3.1.2). */
function parseRedirectUris(value: unknown): string[] | undefined | string {
	if (value === undefined) return undefined;
	const message = 'redirect_uris must be an array of absolute https URLs (plain http only to 127.0.0.1 or [::1]), without a fragment';
	if (!Array.isArray(value) || value.length > 20) return message;
	for (const uri of value) {
		const url = typeof uri === 'string' && uri.length <= 2000 && URL.canParse(uri) ? new URL(uri) : null;
		if (!url || url.hash || uri.includes('#')) return message;
		if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackAddress(url.hostname))) return message;
	}
	return [...new Set(value as string[])];
}

/**
 * A client as CLIENTS_FILE would declare it, by SPEC's names: what the operator's command
 * prints, and what parseClient reads back into the same client.
 */
export function clientDeclaration(client: Client): Record<string, unknown> {
	const declaration: Record<string, unknown> = {
		id: client.id,
		name: client.name,
		type: client.type,
		scopes: client.scopes,
		secret_sha256: client.secretSha256,
		grant_types: client.grantTypes,
		redirect_uris: client.redirectUris,
		access_token_format: client.accessTokenFormat,
		audience: client.audience,
		access_token_ttl: client.accessTokenTtlSeconds,
		refresh_token_ttl: client.refreshTokenTtlSeconds,
		device_code_ttl: client.deviceCodeTtlSeconds,
		poll_interval: client.pollIntervalSeconds,
		address_mismatch: client.addressMismatch,
		dpop_bound_access_tokens: client.dpopBoundAccessTokens,
		allow: client.allow && approvalRuleDeclaration(client.allow)
	};
	return Object.fromEntries(Object.entries(declaration).filter(([, value]) => value !== undefined));
}

/** Finds a client that may act now by its id: the per-instance cache (client-cache.ts), or a Map in a test. */
export interface ClientLookup {
	get(id: string): Client | undefined;
}

export interface ClientCredentials {
	clientId?: string;
	clientSecret?: string;
	authorization?: string | null;
}

export type ClientAuthentication = { ok: true; client: Client; method: 'none' | 'client_secret_basic' | 'client_secret_post' } | { ok: false; reason: string };

/**
 * RFC 6749 §2.3: a public client names itself; a confidential one proves it with
 * HTTP Basic (client_secret_basic) or client_secret in the body (client_secret_post).
 */
export function authenticateClient(clients: ClientLookup, credentials: ClientCredentials): ClientAuthentication {
	const basic = parseBasicAuthorization(credentials.authorization);
	if (basic === 'malformed') return { ok: false, reason: 'The Authorization header is not valid HTTP Basic credentials.' };
	if (basic && credentials.clientSecret !== undefined) {
		return { ok: false, reason: 'Use one client authentication method, not both.' };
	}
	if (basic && credentials.clientId !== undefined && credentials.clientId !== basic.id) {
		return { ok: false, reason: 'client_id does not match the Authorization header.' };
	}
	const clientId = basic?.id ?? credentials.clientId;
	if (!clientId) return { ok: false, reason: 'client_id is required.' };
	const client = clients.get(clientId);
	if (!client) return { ok: false, reason: 'Unknown or disabled client.' };
	const secret = basic?.secret ?? credentials.clientSecret;
	if (client.type === 'public') {
		if (secret !== undefined) return { ok: false, reason: 'This client is public and has no secret.' };
		return { ok: true, client, method: 'none' };
	}
	if (secret === undefined) return { ok: false, reason: 'This client must authenticate with its secret.' };
	if (!hexDigestsEqual(sha256Hex(secret), client.secretSha256 ?? '')) {
		return { ok: false, reason: 'Client authentication failed.' };
	}
	return { ok: true, client, method: basic ? 'client_secret_basic' : 'client_secret_post' };
}

function parseBasicAuthorization(header: string | null | undefined): { id: string; secret: string } | null | 'malformed' {
	if (!header) return null;
	const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
	if (!match) return /^Basic\b/i.test(header) ? 'malformed' : null;
	const decoded = Buffer.from(match[1], 'base64').toString('utf8');
	const colon = decoded.indexOf(':');
	if (colon < 0) return 'malformed';
	try {
		// RFC 6749 §2.3.1: both parts are form-urlencoded before encoding.
		const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
		return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
	} catch {
		return 'malformed';
	}
}

/** The scopes to grant for a requested `scope` parameter: all the client's when omitted. */
export function resolveRequestedScopes(client: Client, scopeParam: string | undefined): string[] | { unknown: string[] } {
	if (scopeParam === undefined || scopeParam.trim() === '') return client.scopes;
	const requested = [...new Set(scopeParam.split(' ').filter(Boolean))];
	const unknown = requested.filter((scope) => !client.scopes.includes(scope));
	return unknown.length ? { unknown } : requested;
}
