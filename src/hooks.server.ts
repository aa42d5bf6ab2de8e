import { sequence, type Handle, type HandleServerError, type ServerInit } from '@sveltejs/kit/hooks';
import { loadConfig, type Config } from '#lib/server/config.ts';
import { methodNotAllowed, oauthJson, OAuthError } from '#lib/server/oauth-errors.ts';
import { sessionCookie } from '#lib/server/cookies.ts';
import { validateSessionToken } from '#lib/server/sessions.ts';
import { createServices, services, setServices } from '#lib/server/services.ts';
import { openSqliteStore } from '#lib/server/sqlite-store.ts';
import { startSweeper } from '#lib/server/sweeper.ts';
import { randomUUID } from 'node:crypto';
import { registerFastPath } from '#lib/server/fast-path.ts';
import { responseHeaders } from '#lib/server/headers.ts';
import { logRequest } from '#lib/server/log.ts';

export const init: ServerInit = async () => {
	const loaded = loadConfig(process.env);
	if (!loaded.ok) {
		for (const line of loaded.errors) console.error(`doorcode: ${line}`);
		process.exit(1);
	}
	const config = loaded.config;
	for (const line of loaded.warnings) console.warn(`doorcode: ${line}`);
	const store = openDatabase(config.databasePath);
	if (config.devIdp) await startDevIdentityProvider(config);
	if (!config.rateLimits) console.warn('doorcode: RATE_LIMITS=off: doorcode applies no rate limits of its own');
	const built = await createServices(config, store);
	setServices(built);
	startSweeper(built);
	registerFastPath();
	console.log(
		JSON.stringify({
			level: 'info',
			msg: 'doorcode ready',
			origin: config.origin,
			database: config.databasePath,
			providers: Object.keys(config.providers),
			devIdp: config.devIdp
		})
	);
};

/** The store, or one line naming DATABASE_PATH and the exit: a path that is no database is the operator's to fix. */
function openDatabase(path: string) {
	try {
		return openSqliteStore(path);
	} catch (caught) {
		console.error(`doorcode: DATABASE_PATH: cannot open ${path} as a SQLite database: ${(caught as Error).message}`);
		process.exit(1);
	}
}

/** DEV_IDP=1: a local OpenID provider stands in for ORCID and Clerk (loaded only then). */
async function startDevIdentityProvider(config: Config) {
	const { startDevIdentityProvider } = await import('#lib/server/dev-idp.ts');
	const idp = await startDevIdentityProvider({ origin: config.origin });
	config.providers = {
		orcid: { id: 'orcid', name: 'ORCID', ...idp.orcid, scopes: ['openid'] },
		clerk: { id: 'clerk', name: 'Clerk', ...idp.clerk, scopes: ['openid', 'profile', 'email'] }
	};
	console.warn(`doorcode: DEV_IDP=1: development sign-in at ${idp.orcid.baseUrl} (ORCID) and ${idp.clerk.baseUrl} (Clerk)`);
}

const isApiPath = (path: string) => path.startsWith('/oauth/') || path.startsWith('/.well-known/');

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
	if (FORM_CONTENT_TYPES.includes(type) && !isSameSite(request.headers, services().config.origin)) {
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
	if (isApiPath(event.url.pathname)) return resolve(event);
	const { config } = services();
	const token = sessionCookie.read(event.cookies, config);
	if (token) {
		const validation = await validateSessionToken(services(), token, Date.now());
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
	let response = await resolve(event);
	const common = responseHeaders(services().config, requestId);
	if (isApiPath(event.url.pathname) && response.status === 404 && !response.headers.get('content-type')?.includes('json')) {
		response = oauthJson(new OAuthError(404, 'invalid_request', 'There is no such endpoint.'), common);
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
	logRequest(requestId, event.request.method, event.route.id ?? 'unmatched', response.status, started);
	return response;
};

export const handle = sequence(securityHeadersAndLog, refuseCrossSiteForms, authenticateSession);

/** Errors from our own code are logged without their request and shown as a plain message. */
export const handleError: HandleServerError = (caught) => {
	if (caught.kind !== 'unknown') return;
	const error = caught.error as Error | undefined;
	console.error(JSON.stringify({ level: 'error', msg: 'unexpected error', route: caught.event.route.id, error: error?.message ?? String(error) }));
	return { message: 'Something went wrong on our side. Please try again.' };
};
