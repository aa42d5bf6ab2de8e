import { readFileSync } from 'node:fs';
import { DEMO_CLIENT, parseClients, type Client } from './clients';
import { BUILT_IN_PROVIDERS, findProvider, parseProvidersFile, PROVIDER_ID, type ProviderConfig } from './providers';
import { parseLimit, type Limit } from './rate-limit';
import { DAY_SECONDS } from './time';
import { isHttpsOrLoopback, isLoopbackUrl } from './addresses';

export interface Config {
	/** ORIGIN: the public base URL, also the metadata's issuer. */
	origin: string;
	/** Cookies get Secure and the __Host- prefix when the site is served over https. */
	secure: boolean;
	production: boolean;
	databasePath: string;
	/** DATABASE_URL: PostgreSQL instead of SQLite, shared by any number of instances. */
	databaseUrl: string | null;
	databasePoolSize: number;
	/** KEY_ENCRYPTION_SECRET: encrypts the private signing keys in the store. */
	keyEncryptionSecret: string | null;
	/** SIGNING_KEY_DAYS: how long a signing key signs before the next one takes over. */
	signingKeyDays: number;
	/** METRICS_TOKEN: /metrics wants it as a bearer token; without it, only loopback gets an answer. */
	metricsToken: string | null;
	/** METRICS=off: no counting and no /metrics. */
	metrics: boolean;
	/** ORCID, Clerk, then PROVIDERS_FILE's entries in its order: the order of the sign-in buttons. */
	providers: ProviderConfig[];
	adminSubjects: string[];
	/** What CLIENTS_FILE declares (the demo client without it): applied to the store at every start-up. */
	clients: Client[];
	deviceCodeTtlSeconds: number;
	pollIntervalSeconds: number;
	sweepIntervalSeconds: number;
	accessTokenTtlSeconds: number;
	refreshTokenTtlSeconds: number;
	sessionTtlSeconds: number;
	rateLimits: boolean;
	limits: {
		/** Wrong codes per IP and per browser before a growing wait. */
		codeEntry: Limit;
		/** New codes per IP, and per client. */
		deviceAuthorizationPerIp: Limit;
		deviceAuthorizationPerClient: Limit;
		/** Token endpoint requests per IP: a ceiling above slow_down. */
		tokenPerIp: Limit;
	};
	/** Seconds an address that asked for a reported code is refused new codes. */
	reportBlockSeconds: number;
	trustProxy: number;
	devIdp: boolean;
}

/** Errors stop start-up; warnings are printed and the server runs. One line each, naming the variable. */
export type ConfigResult = { ok: true; config: Config; warnings: string[] } | { ok: false; errors: string[] };

type Env = Record<string, string | undefined>;

/** Reads and checks the environment once; every bad variable gives one line naming it. */
export function loadConfig(env: Env, readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): ConfigResult {
	const errors: string[] = [];
	const warnings: string[] = [];
	const production = env.NODE_ENV === 'production';

	const origin = readOrigin(env, production, errors);
	const seconds = (name: string, fallback: number, min: number, max: number) => readInteger(env, name, fallback, min, max, errors);

	const devIdp = readFlag(env, 'DEV_IDP', false, errors);
	if (devIdp && production) errors.push('DEV_IDP: the local identity provider is for development and is refused when NODE_ENV=production');

	// With DEV_IDP=1 the local identity provider stands in for ORCID and Clerk (hooks.server.ts adds them).
	const providers: ProviderConfig[] = [];
	if (!devIdp) {
		const orcid = readProvider(env, 'ORCID', 'https://orcid.org', errors);
		if (orcid) providers.push({ ...BUILT_IN_PROVIDERS.orcid, scopes: [...BUILT_IN_PROVIDERS.orcid.scopes], ...orcid });
		const clerk = readProvider(env, 'CLERK', undefined, errors);
		if (clerk) providers.push({ ...BUILT_IN_PROVIDERS.clerk, scopes: [...BUILT_IN_PROVIDERS.clerk.scopes], ...clerk });
	}
	providers.push(...readProvidersFile(env, readFile, errors, warnings));
	if (!devIdp && providers.length === 0 && errors.length === 0) {
		errors.push(
			'ORCID_CLIENT_ID: no sign-in provider is configured; set ORCID_CLIENT_ID and ORCID_CLIENT_SECRET, or CLERK_CLIENT_ID, CLERK_CLIENT_SECRET and CLERK_BASE_URL, or PROVIDERS_FILE (or DEV_IDP=1 in development)'
		);
	}
	const providerIds = [...(devIdp ? [BUILT_IN_PROVIDERS.orcid.id, BUILT_IN_PROVIDERS.clerk.id] : []), ...providers.map((provider) => provider.id)];

	const config: Config = {
		origin: origin ?? '',
		secure: origin?.startsWith('https:') ?? false,
		production,
		databasePath: env.DATABASE_PATH?.trim() || './data/doorcode.db',
		databaseUrl: readDatabaseUrl(env, errors),
		databasePoolSize: readInteger(env, 'DATABASE_POOL_SIZE', 10, 1, 1000, errors),
		keyEncryptionSecret: readSecret(env, 'KEY_ENCRYPTION_SECRET', production, errors),
		signingKeyDays: readInteger(env, 'SIGNING_KEY_DAYS', 30, 1, 365, errors),
		metricsToken: readMetricsToken(env, errors),
		metrics: readFlag(env, 'METRICS', true, errors),
		providers,
		adminSubjects: readAdminSubjects(env, providerIds, errors),
		clients: readClientsFile(env, production, readFile, errors, warnings),
		deviceCodeTtlSeconds: seconds('DEVICE_CODE_TTL', 600, 1, DAY_SECONDS),
		pollIntervalSeconds: seconds('POLL_INTERVAL', 5, 1, 300),
		sweepIntervalSeconds: seconds('SWEEP_INTERVAL', 60, 1, DAY_SECONDS),
		accessTokenTtlSeconds: seconds('ACCESS_TOKEN_TTL', 3600, 1, 30 * DAY_SECONDS),
		refreshTokenTtlSeconds: seconds('REFRESH_TOKEN_TTL', 30 * DAY_SECONDS, 1, 365 * DAY_SECONDS),
		sessionTtlSeconds: seconds('SESSION_TTL', 30 * DAY_SECONDS, 60, 365 * DAY_SECONDS),
		rateLimits: readFlag(env, 'RATE_LIMITS', true, errors),
		limits: {
			codeEntry: readLimit(env, 'RATE_LIMIT_CODE_ENTRY', '5/60', errors),
			deviceAuthorizationPerIp: readLimit(env, 'RATE_LIMIT_DEVICE_AUTHORIZATION', '30/60', errors),
			deviceAuthorizationPerClient: readLimit(env, 'RATE_LIMIT_DEVICE_AUTHORIZATION_CLIENT', '600/60', errors),
			tokenPerIp: readLimit(env, 'RATE_LIMIT_TOKEN', '3000/60', errors)
		},
		reportBlockSeconds: seconds('REPORT_BLOCK_SECONDS', 3600, 1, 30 * DAY_SECONDS),
		trustProxy: readInteger(env, 'TRUST_PROXY', 0, 0, 10, errors),
		devIdp
	};
	warnings.push(...unconfiguredAllowedProviders(config, providerIds));
	return errors.length ? { ok: false, errors } : { ok: true, config, warnings };
}

/** How people know a provider: "ORCID", "Acme SSO", else its id. */
export function providerName(config: Config, id: string): string {
	const builtIn = Object.hasOwn(BUILT_IN_PROVIDERS, id) ? BUILT_IN_PROVIDERS[id as keyof typeof BUILT_IN_PROVIDERS].name : undefined;
	return findProvider(config.providers, id)?.name ?? builtIn ?? id;
}

/** An `allow` naming a provider no one can sign in with here admits no one through it: a typo, most likely. */
function unconfiguredAllowedProviders(config: Config, configured: string[]): string[] {
	return config.clients.flatMap(({ id, allow }) => {
		const unknown = (allow?.providers ?? []).filter((provider) => !configured.includes(provider));
		if (unknown.length === 0) return [];
		const names = unknown.map((provider) => JSON.stringify(provider)).join(', ');
		return [`CLIENTS_FILE: client "${id}": allow.providers names ${names}, which no one can sign in with here (configured: ${configured.join(', ')})`];
	});
}

function readOrigin(env: Env, production: boolean, errors: string[]): string | undefined {
	const value = env.ORIGIN?.trim();
	if (!value) {
		if (production) errors.push('ORIGIN: required when NODE_ENV=production (the public base URL, e.g. https://login.example.org)');
		return 'http://localhost:5173';
	}
	const url = parseUrl(value);
	if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search || url.hash) {
		errors.push(`ORIGIN: must be a base URL such as https://login.example.org, with no path (got "${value}")`);
		return undefined;
	}
	// Over plain http no cookie can be Secure and no HSTS is sent: not for real users.
	if (production && url.protocol === 'http:' && !isLoopbackUrl(url)) {
		errors.push(
			`ORIGIN: must be https when NODE_ENV=production (plain http only on a loopback address; got "${value}"); put doorcode behind a TLS-terminating proxy`
		);
		return undefined;
	}
	return url.origin;
}

function readProvider(env: Env, prefix: 'ORCID' | 'CLERK', defaultBaseUrl: string | undefined, errors: string[]) {
	const clientId = env[`${prefix}_CLIENT_ID`]?.trim();
	const clientSecret = env[`${prefix}_CLIENT_SECRET`]?.trim();
	if (!clientId && !clientSecret) return undefined;
	if (!clientId) errors.push(`${prefix}_CLIENT_ID: required when ${prefix}_CLIENT_SECRET is set`);
	if (!clientSecret) errors.push(`${prefix}_CLIENT_SECRET: required when ${prefix}_CLIENT_ID is set`);
	const baseUrl = env[`${prefix}_BASE_URL`]?.trim() || defaultBaseUrl;
	if (!baseUrl) {
		errors.push(`${prefix}_BASE_URL: required with ${prefix}_CLIENT_ID (the Clerk instance's Frontend API URL)`);
		return undefined;
	}
	const url = parseUrl(baseUrl);
	if (!url || !isHttpsOrLoopback(url) || url.search || url.hash) {
		errors.push(`${prefix}_BASE_URL: must be an https URL (plain http only on a loopback address) (got "${baseUrl}")`);
		return undefined;
	}
	if (!clientId || !clientSecret) return undefined;
	return { clientId, clientSecret, baseUrl: url.href.replace(/\/+$/, '') };
}

/** `<provider id>:<subject>` for a configured provider, or `email:<address>`. */
function readAdminSubjects(env: Env, providerIds: string[], errors: string[]): string[] {
	const subjects = (env.ADMIN_SUBJECTS ?? '')
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean);
	const normalised: string[] = [];
	for (const subject of subjects) {
		const match = /^([^:]+):(.+)$/.exec(subject);
		if (!match || !(match[1] === 'email' || (PROVIDER_ID.test(match[1]) && providerIds.includes(match[1])))) {
			const prefixes = [...providerIds, 'email'].map((id) => `${id}:`).join(', ');
			errors.push(`ADMIN_SUBJECTS: "${subject}" must be <provider id>:<subject> or email:<address>, with a configured provider (${prefixes})`);
			continue;
		}
		normalised.push(match[1] === 'email' ? `email:${match[2].toLowerCase()}` : subject);
	}
	return normalised;
}

function readClientsFile(env: Env, production: boolean, readFile: (path: string) => string, errors: string[], warnings: string[]): Client[] {
	if (!env.CLIENTS_FILE?.trim()) {
		if (production) errors.push('CLIENTS_FILE: required when NODE_ENV=production (the demo client exists only in development)');
		return [DEMO_CLIENT];
	}
	const read = readListFile(env, 'CLIENTS_FILE', readFile, (text) => parseClients(text), errors, warnings);
	return read?.clients ?? [];
}

function readProvidersFile(env: Env, readFile: (path: string) => string, errors: string[], warnings: string[]): ProviderConfig[] {
	const read = readListFile(env, 'PROVIDERS_FILE', readFile, (text) => parseProvidersFile(text, env), errors, warnings);
	return read?.providers ?? [];
}

/** The JSON file a variable names, read and parsed: each problem one line naming the variable and the file; null when there is none or it is bad. */
function readListFile<T extends { ok: true; warnings: string[] }>(
	env: Env,
	name: 'CLIENTS_FILE' | 'PROVIDERS_FILE',
	readFile: (path: string) => string,
	parse: (text: string) => T | { ok: false; error: string },
	errors: string[],
	warnings: string[]
): T | null {
	const path = env[name]?.trim();
	if (!path) return null;
	let text: string;
	try {
		text = readFile(path);
	} catch (error) {
		errors.push(`${name}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
		return null;
	}
	const result = parse(text);
	if (!result.ok) {
		errors.push(`${name}: ${path}: ${result.error}`);
		return null;
	}
	warnings.push(...result.warnings.map((warning) => `${name}: ${path}: ${warning}`));
	return result;
}

function readSecret(env: Env, name: string, production: boolean, errors: string[]): string | null {
	const value = env[name];
	if (!value) {
		const why = 'without it the private signing keys are stored unencrypted, and anyone with a copy of the database or a backup could sign tokens';
		if (production) errors.push(`${name}: required when NODE_ENV=production: ${why} (e.g. openssl rand -base64 48)`);
		return null;
	}
	// The value is a secret: never repeated in a message.
	if (value.length < 32) errors.push(`${name}: must be at least 32 characters (e.g. openssl rand -base64 48)`);
	return value;
}

function readMetricsToken(env: Env, errors: string[]): string | null {
	const value = env.METRICS_TOKEN?.trim();
	if (!value) return null;
	// A secret: never repeated in a message. Short tokens can be guessed scrape by scrape.
	if (value.length < 24 || /\s/.test(value)) errors.push('METRICS_TOKEN: must be at least 24 characters without spaces (e.g. openssl rand -hex 24)');
	return value;
}

function readDatabaseUrl(env: Env, errors: string[]): string | null {
	const value = env.DATABASE_URL?.trim();
	if (!value) return null;
	const url = parseUrl(value);
	if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') || !url.hostname || url.pathname.length < 2) {
		// The value may hold a password: it is not repeated here.
		errors.push('DATABASE_URL: must be postgres://user:password@host:5432/dbname');
		return null;
	}
	return value;
}

function readInteger(env: Env, name: string, fallback: number, min: number, max: number, errors: string[]): number {
	const value = env[name]?.trim();
	if (!value) return fallback;
	if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
		errors.push(`${name}: must be a whole number from ${min} to ${max} (got "${value}")`);
		return fallback;
	}
	return Number(value);
}

function readLimit(env: Env, name: string, fallback: string, errors: string[]): Limit {
	const value = env[name]?.trim() || fallback;
	const limit = parseLimit(value);
	if (!limit) {
		errors.push(`${name}: must be <count>/<seconds>, e.g. ${fallback} (got "${value}")`);
		return parseLimit(fallback) as Limit;
	}
	return limit;
}

function readFlag(env: Env, name: string, fallback: boolean, errors: string[]): boolean {
	const value = env[name]?.trim().toLowerCase();
	if (!value) return fallback;
	if (['1', 'on', 'true', 'yes'].includes(value)) return true;
	if (['0', 'off', 'false', 'no'].includes(value)) return false;
	errors.push(`${name}: must be on or off (got "${env[name]}")`);
	return fallback;
}

function parseUrl(value: string): URL | null {
	try {
		return new URL(value);
	} catch {
		return null;
	}
}
