import type { RequestEvent } from '@sveltejs/kit';
import { sequence, type Handle, type HandleServerError, type ServerInit } from '@sveltejs/kit/hooks';
import { followDatabaseClock, now } from '#lib/server/core/clock.ts';
import { loadConfig, type Config } from '#lib/server/core/config.ts';
import { BUILT_IN_PROVIDERS } from '#lib/server/core/providers.ts';
import { databaseUnavailable, methodNotAllowed, noSuchEndpoint, oauthJson } from '#lib/server/oauth/errors.ts';
import { DatabaseUnavailable } from '#lib/server/store/store.ts';
import { sessionCookie } from '#lib/server/browser/cookies.ts';
import { validateSessionToken } from '#lib/server/browser/sessions.ts';
import { createServices, services, setServices, type Services } from '#lib/server/core/services.ts';
import { prepareSigningKeys, SigningKeysUnusable } from '#lib/server/oauth/signing-keys.ts';
import { describeDatabase, openDatabase } from '#lib/server/store/database.ts';
import { startSweeper } from '#lib/server/ops/sweeper.ts';
import { randomUUID } from 'node:crypto';
import { CLOSE_KEY, handToServer } from '#lib/server/core/server-hooks.ts';
import { registerFastPath } from '#lib/server/oauth/fast-path.ts';
import { AUTHORIZATION_PATH } from '#lib/server/oauth/endpoints.ts';
import { declareClientsFile } from '#lib/server/oauth/client-registry.ts';
import { enableMetrics } from '#lib/server/core/metrics.ts';
import { responseHeaders } from '#lib/server/core/headers.ts';
import { logRequest } from '#lib/server/core/log.ts';

export const init: ServerInit = async () => {
	const loaded = loadConfig(process.env);
	if (!loaded.ok) {
		for (const line of loaded.errors) console.error(`doorcode: ${line}`);
		process.exit(1);
	}
	const config = loaded.config;
	for (const line of loaded.warnings) console.warn(`doorcode: ${line}`);
	enableMetrics(config.metrics);
	const database = await openConfiguredDatabase(config);
	if (config.devIdp) await startDevIdentityProvider(config);
	if (!config.rateLimits) console.warn('doorcode: RATE_LIMITS=off: doorcode applies no rate limits of its own');
	const built = await createServices(config, database);
	setServices(built);
	const stopFollowingClock = await followDatabaseClock(built.store);
	for (const line of await declareClientsFile(built, now())) console.warn(`doorcode: ${line}`);
	await openSigningKeys(built);
	const stopSweeper = startSweeper(built);
	registerFastPath();
	// server.js calls this on SIGTERM once requests in flight are answered.
	handToServer(CLOSE_KEY, async () => {
		stopSweeper();
		stopFollowingClock();
		built.clients.close();
		await built.store.close();
	});
	console.log(
		JSON.stringify({
			level: 'info',
			msg: 'doorcode ready',
			origin: config.origin,
			database: describeDatabase(config),
			providers: config.providers.map((provider) => provider.id),
			devIdp: config.devIdp
		})
	);
};

/** The database, or one line naming the variable and the exit: a database that cannot be opened is the operator's to fix. */
async function openConfiguredDatabase(config: Config) {
	try {
		return await openDatabase(config);
	} catch (caught) {
		const what = config.databaseUrl
			? `DATABASE_URL: cannot use ${describeDatabase(config)}`
			: `DATABASE_PATH: cannot open ${config.databasePath} as a SQLite database`;
		console.error(`doorcode: ${what}: ${(caught as Error).message}`);
		process.exit(1);
	}
}

/** The signing keys are sealed if they were stored in clear, and must open: else one line naming the variable, and the exit. */
async function openSigningKeys(services: Services) {
	try {
		await prepareSigningKeys(services, now());
	} catch (caught) {
		if (!(caught instanceof SigningKeysUnusable)) throw caught;
		console.error(`doorcode: KEY_ENCRYPTION_SECRET: ${caught.message}; set the secret the keys were stored with`);
		process.exit(1);
	}
}

/** DEV_IDP=1: a local OpenID provider stands in for ORCID and Clerk (loaded only then); PROVIDERS_FILE's providers follow them. */
async function startDevIdentityProvider(config: Config) {
	const { startDevIdentityProvider } = await import('#lib/server/dev-idp/dev-idp.ts');
	const idp = await startDevIdentityProvider({ origin: config.origin });
	const { orcid, clerk } = BUILT_IN_PROVIDERS;
	config.providers = [{ ...orcid, scopes: [...orcid.scopes], ...idp.orcid }, { ...clerk, scopes: [...clerk.scopes], ...idp.clerk }, ...config.providers];
	console.warn(`doorcode: DEV_IDP=1: development sign-in at ${idp.orcid.baseUrl} (ORCID) and ${idp.clerk.baseUrl} (Clerk)`);
}

/** The JSON API; /oauth/authorize is a page (the consent page), with sessions, form checks and HTML errors. */
const isApiPath = (path: string) => (path.startsWith('/oauth/') && path !== AUTHORIZATION_PATH) || path.startsWith('/.well-known/');
/** Kubernetes' and load balancers' probes and Prometheus: no session, no request log line (they come every few seconds). */
const isProbePath = (path: string) => path === '/healthz' || path === '/readyz' || path === '/metrics';

const FORM_CONTENT_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/**
 * SvelteKit's own origin check is off (it would refuse CLIs, which post forms with no
 * Origin to /oauth/*). Every other form post must come from this site's own pages.
 * Browsers send `Origin: null` on form posts from pages with `Referrer-Policy:
 * no-referrer`, so Sec-Fetch-Site decides where a browser sent it; Origin otherwise.
 */
const refuseCrossSiteForms: Handle = async ({ event, resolve }) => {
	const { request, url } = event;
	if (['GET', 'HEAD', 'OPTIONS'].includes(request.method) || isApiPath(url.pathname)) return resolve(event);
	const type = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
	if (FORM_CONTENT_TYPES.includes(type) && !isSameSite(request.headers, event.locals.services.config.origin)) {
		return new Response('Cross-site form submissions are forbidden.', { status: 403, headers: { 'Content-Type': 'text/plain' } });
	}
	return resolve(event);
};

function isSameSite(headers: Headers, origin: string): boolean {
	const fetchSite = headers.get('sec-fetch-site');
	if (fetchSite) return fetchSite === 'same-origin';
	return headers.get('origin') === origin;
}

const authenticateSession: Handle = async ({ event, resolve }) => {
	event.locals.user = null;
	event.locals.sessionToken = null;
	if (isApiPath(event.url.pathname) || isProbePath(event.url.pathname)) return resolve(event);
	const { config } = event.locals.services;
	const token = sessionCookie.read(event.cookies, config);
	if (token) {
		const validation = await validateSessionToken(event.locals.services, token, now());
		if (validation.ok) {
			event.locals.sessionToken = token;
			event.locals.user = validation.user;
			if (validation.renewedUntil) sessionCookie.set(event.cookies, config, token, validation.renewedUntil);
		} else {
			sessionCookie.delete(event.cookies, config);
		}
	}
	return resolve(event);
};

/** Headers every answer carries, and one log line per request (route, never the query). */
const securityHeadersAndLog: Handle = async ({ event, resolve }) => {
	const started = performance.now();
	const requestId = randomUUID();
	event.locals.requestId = requestId;
	event.locals.services = services();
	event.locals.databaseUnavailable = false;
	const common = responseHeaders(event.locals.services.config, requestId);
	let response = await resolveUnlessDatabaseIsDown(event, resolve, common);
	if (isApiPath(event.url.pathname) && response.status === 404 && !response.headers.get('content-type')?.includes('json')) {
		response = oauthJson(noSuchEndpoint(), common);
	}
	if (isApiPath(event.url.pathname) && response.status === 405 && !response.headers.get('content-type')?.includes('json')) {
		response = oauthJson(methodNotAllowed(response.headers.get('allow') ?? 'POST'), common);
	}
	try {
		for (const [name, value] of Object.entries(common)) response.headers.set(name, value);
		// Pages show who is signed in, their devices, a new token once: no cache keeps them, nor their redirects.
		if (!isApiPath(event.url.pathname) && !response.headers.has('cache-control')) response.headers.set('Cache-Control', 'no-store');
	} catch {
		// Some responses (e.g. from fetch) have immutable headers; they are not pages.
	}
	if (!isProbePath(event.url.pathname)) logRequest(requestId, event.request.method, event.route.id ?? 'unmatched', response.status, started);
	return response;
};

/**
 * A database outage, in a hook or in a page's load or action, answers 503 — RFC 6749 JSON
 * on the API, a page that says to try again elsewhere — instead of a generic 500.
 */
async function resolveUnlessDatabaseIsDown(event: RequestEvent, resolve: (event: RequestEvent) => Promise<Response>, common: Record<string, string>) {
	try {
		const response = await resolve(event);
		return event.locals.databaseUnavailable ? databaseUnavailableAnswer(event, common) : response;
	} catch (caught) {
		if (caught instanceof DatabaseUnavailable) return databaseUnavailableAnswer(event, common);
		throw caught;
	}
}

function databaseUnavailableAnswer(event: RequestEvent, common: Record<string, string>): Response {
	if (isApiPath(event.url.pathname)) return oauthJson(databaseUnavailable(), common);
	return new Response(UNAVAILABLE_PAGE, {
		status: 503,
		headers: {
			'Content-Type': 'text/html; charset=utf-8',
			'Retry-After': '5',
			'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'"
		}
	});
}

const UNAVAILABLE_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Try again in a moment · doorcode</title></head>
<body>
<h1>Try again in a moment</h1>
<p role="alert">doorcode cannot reach its database right now. Nothing you did was lost: wait a few seconds, then reload this page.</p>
<p>If you were signing in a device, its login command keeps waiting; your code stays valid until it expires.</p>
</body>
</html>
`;

export const handle = sequence(securityHeadersAndLog, refuseCrossSiteForms, authenticateSession);

/** Errors from our own code are logged without their request and shown as a plain message. */
export const handleError: HandleServerError = (caught) => {
	if (caught.kind !== 'unknown') return;
	if (caught.error instanceof DatabaseUnavailable) {
		caught.event.locals.databaseUnavailable = true;
		return { message: 'doorcode cannot reach its database right now. Try again in a moment.' };
	}
	const error = caught.error as Error | undefined;
	console.error(JSON.stringify({ level: 'error', msg: 'unexpected error', route: caught.event.route.id, error: error?.message ?? String(error) }));
	return { message: 'Something went wrong on our side. Please try again.' };
};
