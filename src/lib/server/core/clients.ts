import { parseApprovalRule, type ApprovalRule } from './approval-rule';
import { hexDigestsEqual, sha256Hex } from './crypto';

/** The client_id personal access tokens report: they belong to no CLI, and no client may take it. */
export const PERSONAL_CLIENT_ID = 'personal-access-token';

/** A CLI allowed to ask for codes, as declared in CLIENTS_FILE. */
export interface Client {
	id: string;
	name: string;
	type: 'public' | 'confidential';
	scopes: string[];
	/** Hex SHA-256 of a confidential client's secret; never the secret itself. */
	secretSha256?: string;
	/** "jwt": RFC 9068 access tokens an API verifies by itself; else opaque ones. */
	accessTokenFormat?: 'opaque' | 'jwt';
	/** The `aud` of its JWT access tokens (default ORIGIN). */
	audience?: string;
	/** Seconds its access tokens (and ID tokens) live, instead of ACCESS_TOKEN_TTL. */
	accessTokenTtlSeconds?: number;
	/** RFC 9449 §5.3: it always uses DPoP, so a request of its without a proof is refused. */
	dpopBoundAccessTokens?: boolean;
	/** Who may approve its codes: its own `allow`, else CLIENTS_FILE's top-level one; none admits anyone who can sign in. */
	allow?: ApprovalRule;
}

/** `warnings` name keys doorcode does not know (a typo would otherwise change nothing, silently). */
export type ClientsResult = { ok: true; clients: Client[]; warnings: string[] } | { ok: false; error: string };

const CLIENT_KEYS = [
	'id',
	'name',
	'type',
	'scopes',
	'secret_sha256',
	'access_token_format',
	'audience',
	'access_token_ttl',
	'dpop_bound_access_tokens',
	'allow'
];

/** The development client that exists when no CLIENTS_FILE is given (SPEC). */
export const DEMO_CLIENT: Client = {
	id: 'demo-cli',
	name: 'Demo CLI',
	type: 'public',
	scopes: ['read', 'write']
};

const CLIENT_ID = /^[A-Za-z0-9._~-]{1,64}$/;
// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

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
		const rule = entry.allow === undefined ? undefined : parseApprovalRule(entry.allow);
		if (rule && !rule.ok) return { ok: false, error: `${name}: ${rule.error}` };
		const unknown = [...Object.keys(entry as object).filter((key) => !CLIENT_KEYS.includes(key)), ...(rule?.unknownKeys.map((key) => `allow.${key}`) ?? [])];
		warnings.push(...unknownKeysWarning(name, unknown));
		const effectiveRule = rule?.rule ?? defaultRule?.rule;
		clients.push(effectiveRule ? { ...parsed, allow: effectiveRule } : parsed);
	}
	return { ok: true, clients, warnings };
}

function unknownKeysWarning(name: string, keys: string[]): string[] {
	if (keys.length === 0) return [];
	return [`${name}: ignoring unknown ${keys.length === 1 ? 'key' : 'keys'} ${keys.map((key) => JSON.stringify(key)).join(', ')}`];
}

function parseClient(entry: unknown): Client | string {
	if (typeof entry !== 'object' || entry === null) return 'must be an object';
	const { id, name, type, scopes, secret_sha256 } = entry as Record<string, unknown>;
	const tokens = parseTokenSettings(entry as Record<string, unknown>);
	if (typeof tokens === 'string') return tokens;
	if (typeof id !== 'string' || !CLIENT_ID.test(id)) {
		return 'id must be 1-64 characters of letters, digits, ".", "_", "~" or "-"';
	}
	if (id === PERSONAL_CLIENT_ID) return `the id "${PERSONAL_CLIENT_ID}" is reserved: personal access tokens report it as their client_id`;
	if (typeof name !== 'string' || name.trim() === '') return 'name must be a non-empty string';
	if (type !== 'public' && type !== 'confidential') return 'type must be "public" or "confidential"';
	if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && SCOPE_TOKEN.test(s))) {
		return 'scopes must be an array of scope names without spaces or quotes';
	}
	if (type === 'confidential') {
		if (typeof secret_sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(secret_sha256)) {
			return 'a confidential client needs secret_sha256: the hex SHA-256 of its secret';
		}
		return { id, name: name.trim(), type, scopes: [...new Set(scopes)], secretSha256: secret_sha256.toLowerCase(), ...tokens };
	}
	if (secret_sha256 !== undefined) return 'a public client has no secret; remove secret_sha256 or make it confidential';
	return { id, name: name.trim(), type, scopes: [...new Set(scopes)], ...tokens };
}

type TokenSettings = Pick<Client, 'accessTokenFormat' | 'audience' | 'accessTokenTtlSeconds' | 'dpopBoundAccessTokens'>;

/** access_token_format, audience, access_token_ttl and dpop_bound_access_tokens, each optional. */
function parseTokenSettings({ access_token_format, audience, access_token_ttl, dpop_bound_access_tokens }: Record<string, unknown>): TokenSettings | string {
	const settings: TokenSettings = {};
	if (access_token_format !== undefined) {
		if (access_token_format !== 'opaque' && access_token_format !== 'jwt') return 'access_token_format must be "opaque" or "jwt"';
		settings.accessTokenFormat = access_token_format;
	}
	if (audience !== undefined) {
		if (typeof audience !== 'string' || !URL.canParse(audience) || audience.length > 300)
			return 'audience must be the absolute URL of the API, e.g. "https://api.example.org"';
		settings.audience = audience;
	}
	if (access_token_ttl !== undefined) {
		if (typeof access_token_ttl !== 'number' || !Number.isInteger(access_token_ttl) || access_token_ttl < 30 || access_token_ttl > 86_400) {
			return 'access_token_ttl must be a whole number of seconds from 30 to 86400';
		}
		settings.accessTokenTtlSeconds = access_token_ttl;
	}
	if (dpop_bound_access_tokens !== undefined) {
		if (typeof dpop_bound_access_tokens !== 'boolean') return 'dpop_bound_access_tokens must be true or false';
		if (dpop_bound_access_tokens) settings.dpopBoundAccessTokens = true;
	}
	return settings;
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
export function authenticateClient(clients: ReadonlyMap<string, Client>, credentials: ClientCredentials): ClientAuthentication {
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
	if (!client) return { ok: false, reason: 'Unknown client.' };
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
