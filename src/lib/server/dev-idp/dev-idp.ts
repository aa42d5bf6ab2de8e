/**
 * The local identity provider: two real OpenID providers (`oidc-provider`) on
 * loopback that stand in for ORCID and for Clerk in development (`DEV_IDP=1`)
 * and in tests. doorcode reaches them through the same code as the real
 * providers: authorization code + PKCE (S256) + state, client_secret_basic,
 * `{baseUrl}/oauth/authorize`, `/oauth/token`, `/oauth/userinfo`.
 *
 * Loaded only with `await import()` when DEV_IDP=1: no top-level side effects.
 * Each stand-in listens from the start, but oidc-provider (and Koa under it, some
 * 18 MB of memory) is loaded and set up by the first request that reaches it, so
 * a server nobody signs in to through it never pays for it.
 *
 * Behaviour worth knowing:
 * - Every authorization shows the sign-in page (the stand-in never remembers
 *   who signed in), so a person can switch test users between sign-ins. An
 *   issuer started with `remembersSignIn` keeps its session instead, as real
 *   ones do: it then signs the same person straight back in, unless the
 *   request says `prompt=login`.
 * - Consent is implied: requested scopes are granted without a consent page.
 * - `Cancel` sends the browser back to the client with `error=access_denied`.
 *
 * `startIssuer` runs one such provider with any settings: the tests use it for a
 * third issuer, found by discovery at oidc-provider's own routes, with groups,
 * verified and unverified addresses, and a signing key that can be rotated.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Account, Adapter, AdapterPayload, Configuration, Grant, Interaction, KoaContextWithOIDC, Provider } from 'oidc-provider';

export interface DevProvider {
	baseUrl: string;
	clientId: string;
	clientSecret: string;
}

export interface DevIdentityProvider {
	orcid: DevProvider;
	clerk: DevProvider;
	close(): Promise<void>;
}

export interface DevUser {
	sub: string;
	name: string;
	email?: string;
	/** Whether the provider says the address is verified; true when not given. */
	emailVerified?: boolean;
	groups?: string[];
}

/** ORCID's test users; the iDs are ORCID's documented examples (valid checksums). */
export const DEV_ORCID_USERS: DevUser[] = [
	{ sub: '0000-0002-1825-0097', name: 'Josiah Carberry' },
	{ sub: '0000-0001-5109-3700', name: 'Laure Haak' }
];

/** Clerk's test users; ids look like Clerk user ids. */
export const DEV_CLERK_USERS: DevUser[] = [
	{ sub: 'user_2demoAlice0000000000000', name: 'Alice Example', email: 'alice@lab.example' },
	{ sub: 'user_2demoTech00000000000000', name: 'Lab Technician', email: 'tech@lab.example' },
	{ sub: 'user_2demoBob000000000000000', name: 'Bob Example', email: 'bob@lab.example' }
];

/** One OpenID provider: whom doorcode knows it as, its test users and what it releases. */
export interface IssuerSettings {
	/** doorcode's id for it: the callback {origin}/login/<id>/callback, and its cookies' names. */
	id: string;
	title: string;
	users: DevUser[];
	/** oidc-provider `claims`: scope → claims it releases. */
	claims: Record<string, string[]>;
	/** ORCID's and Clerk's layout (/oauth/authorize …); when false, oidc-provider's own routes, found by discovery. */
	oauthRoutes: boolean;
	/** Claims in the ID token as well as from userinfo (oidc-provider's conformIdTokenClaims off). */
	claimsInIdToken: boolean;
	/** Keeps the person's session after a sign-in, as a real provider does; the stand-ins for ORCID and Clerk forget it. */
	remembersSignIn: boolean;
}

const SETTINGS: Record<'orcid' | 'clerk', IssuerSettings> = {
	orcid: {
		id: 'orcid',
		title: 'ORCID (development stand-in)',
		users: DEV_ORCID_USERS,
		// ORCID's userinfo answers `sub` and the person's name for scope openid.
		claims: { openid: ['sub', 'name'] },
		oauthRoutes: true,
		claimsInIdToken: false,
		remembersSignIn: false
	},
	clerk: {
		id: 'clerk',
		title: 'Clerk (development stand-in)',
		users: DEV_CLERK_USERS,
		claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
		oauthRoutes: true,
		claimsInIdToken: false,
		remembersSignIn: false
	}
};

const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})$/;
const MAX_FORM_BYTES = 8 * 1024;

/** Starts two oidc-provider instances on 127.0.0.1 (ports from `ports` or random free ports), one per provider. */
export async function startDevIdentityProvider(options: { origin: string; ports?: { orcid?: number; clerk?: number } }): Promise<DevIdentityProvider> {
	const started: RunningIssuer[] = [];
	let orcid: RunningIssuer;
	let clerk: RunningIssuer;
	try {
		orcid = await startIssuer(SETTINGS.orcid, { origin: options.origin, port: options.ports?.orcid });
		started.push(orcid);
		clerk = await startIssuer(SETTINGS.clerk, { origin: options.origin, port: options.ports?.clerk });
		started.push(clerk);
	} catch (error) {
		await Promise.all(started.map((one) => one.close()));
		throw error;
	}
	let closing: Promise<void> | undefined;
	return {
		orcid: orcid.info,
		clerk: clerk.info,
		close() {
			closing ??= Promise.all(started.map((one) => one.close())).then(() => undefined);
			return closing;
		}
	};
}

export interface RunningIssuer {
	info: DevProvider;
	/** Signs from now on with this private JWK, and publishes only it: the next sign-in's ID token carries its kid. */
	rotateSigningKey(key: Record<string, unknown>): void;
	close(): Promise<void>;
}

export interface IssuerOptions {
	/** doorcode's ORIGIN, where the callback is. */
	origin: string;
	/** Where to listen on 127.0.0.1; a free port when not given. */
	port?: number;
	/** The private JWK it signs with (RS256, with a kid); a new one when not given. */
	signingKey?: Record<string, unknown>;
	/** Called with each oidc-provider instance as it is set up (on the first request, and after a rotation). */
	onProvider?: (provider: Provider) => void;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** One OpenID provider on 127.0.0.1, set up on its first request. */
export async function startIssuer(settings: IssuerSettings, options: IssuerOptions): Promise<RunningIssuer> {
	const origin = new URL(options.origin).origin;
	let signingKey = options.signingKey;
	let handler: Promise<Handler> | undefined;
	const setUp = async () => {
		signingKey ??= await generateSigningKey();
		return createHandler(settings, origin, info, signingKey, options.onProvider);
	};
	const server = createServer((req, res) => {
		handler ??= setUp();
		handler.then(
			(handle) => handle(req, res),
			(error: unknown) => {
				handler = undefined;
				console.error(`doorcode dev identity provider (${settings.id}):`, error);
				sendPage(res, 500, 'Something went wrong', '<p>The development sign-in could not start. Try again in a moment.</p>');
			}
		);
	});
	await listen(server, options.port ?? 0);
	const { port: actualPort } = server.address() as AddressInfo;
	const info: DevProvider = {
		baseUrl: `http://127.0.0.1:${actualPort}`,
		clientId: `doorcode-dev-${settings.id}`,
		clientSecret: randomBytes(32).toString('base64url')
	};
	return {
		info,
		rotateSigningKey(key) {
			signingKey = key;
			// The next request sets up the provider again, with the new key.
			handler = undefined;
		},
		close: () => closeServer(server)
	};
}

/** The stand-in itself, set up on its first request. */
async function createHandler(
	settings: IssuerSettings,
	origin: string,
	{ baseUrl, clientId, clientSecret }: DevProvider,
	signingKey: Record<string, unknown>,
	onProvider: IssuerOptions['onProvider']
): Promise<Handler> {
	const { default: ProviderClass } = await import('oidc-provider');
	const provider = new ProviderClass(baseUrl, {
		...configuration(settings, origin, clientId, clientSecret, signingKey),
		adapter: memoryAdapter()
	});
	// Every authorization asks again: the login session ends once the browser
	// is sent back to the client, so the next sign-in shows the user list.
	if (!settings.remembersSignIn) {
		provider.use(async (ctx, next) => {
			await next();
			const oidc = routeOf(ctx) === 'resume' ? ctx.oidc : undefined;
			if (oidc?.session && !oidc.session.destroyed) await oidc.session.destroy();
		});
	}
	provider.on('server_error', (_ctx, error) => {
		console.error(`doorcode dev identity provider (${settings.id}):`, error);
	});
	onProvider?.(provider);
	const callback = provider.callback();
	return (req, res) => {
		const path = new URL(req.url ?? '/', baseUrl).pathname;
		const uid = INTERACTION_PATH.exec(path)?.[1];
		if (uid === undefined) {
			callback(req, res);
			return;
		}
		interaction(provider, settings, uid, req, res).catch((error: unknown) => {
			console.error(`doorcode dev identity provider (${settings.id}):`, error);
			if (!res.headersSent) sendPage(res, 500, 'Something went wrong', '<p>The development sign-in failed. Go back to doorcode and try again.</p>');
			else res.end();
		});
	};
}

function routeOf(ctx: KoaContextWithOIDC): string | undefined {
	// ctx.oidc exists only on oidc-provider's own routes.
	return Object.hasOwn(ctx, 'oidc') ? ctx.oidc.route : undefined;
}

function configuration(settings: IssuerSettings, origin: string, clientId: string, clientSecret: string, signingKey: Record<string, unknown>): Configuration {
	const { users } = settings;
	const cookiePrefix = `dev_${settings.id}`;
	return {
		clients: [
			{
				client_id: clientId,
				client_secret: clientSecret,
				client_name: 'doorcode (development)',
				redirect_uris: [`${origin}/login/${settings.id}/callback`],
				token_endpoint_auth_method: 'client_secret_basic',
				response_types: ['code'],
				grant_types: ['authorization_code']
			}
		],
		jwks: { keys: [signingKey] },
		cookies: {
			keys: [randomBytes(32).toString('base64url')],
			// Every stand-in lives on 127.0.0.1, and cookies ignore ports: distinct names.
			names: { session: `${cookiePrefix}_session`, interaction: `${cookiePrefix}_interaction`, resume: `${cookiePrefix}_resume` },
			long: { httpOnly: true, sameSite: 'lax', secure: false },
			short: { httpOnly: true, sameSite: 'lax', secure: false }
		},
		claims: settings.claims,
		scopes: Object.keys(settings.claims),
		responseTypes: ['code'],
		...(settings.oauthRoutes ? { routes: { authorization: '/oauth/authorize', token: '/oauth/token', userinfo: '/oauth/userinfo', jwks: '/oauth/jwks' } } : {}),
		conformIdTokenClaims: !settings.claimsInIdToken,
		features: {
			devInteractions: { enabled: false },
			rpInitiatedLogout: { enabled: false },
			userinfo: { enabled: true }
		},
		pkce: { required: () => true },
		interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
		async findAccount(_ctx, sub): Promise<Account | undefined> {
			const user = users.find((candidate) => candidate.sub === sub);
			if (!user) return undefined;
			return {
				accountId: user.sub,
				async claims() {
					return {
						sub: user.sub,
						name: user.name,
						...(user.email ? { email: user.email, email_verified: user.emailVerified ?? true } : {}),
						...(user.groups ? { groups: user.groups } : {})
					};
				}
			};
		},
		// Consent is implied: the grant always covers what was asked for.
		async loadExistingGrant(ctx): Promise<Grant | undefined> {
			const { oidc } = ctx;
			const { session, client } = oidc;
			if (!session?.accountId || !client) return undefined;
			const grantId = oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
			let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
			if (!grant || grant.accountId !== session.accountId || grant.clientId !== client.clientId) {
				grant = new oidc.provider.Grant({ accountId: session.accountId, clientId: client.clientId });
			}
			const scopes = [...oidc.requestParamOIDCScopes];
			if (scopes.length) grant.addOIDCScope(scopes.join(' '));
			const claims = [...oidc.requestParamClaims];
			if (claims.length) grant.addOIDCClaims(claims);
			await grant.save();
			return grant;
		},
		// Tokens stay valid after the (deliberately short-lived) login session ends.
		expiresWithSession: async () => false,
		clientBasedCORS: () => true,
		ttl: {
			AccessToken: 60 * 60,
			AuthorizationCode: 60,
			IdToken: 60 * 60,
			Interaction: 30 * 60,
			Session: 60 * 60,
			Grant: 24 * 60 * 60
		},
		async renderError(ctx, out) {
			const rows = Object.entries(out)
				.map(([key, value]) => `<dt>${escapeHtml(key)}</dt><dd>${escapeHtml(String(value))}</dd>`)
				.join('');
			ctx.type = 'html';
			ctx.body = page(settings.title, 'Sign-in error', `<p>The development sign-in could not handle this request.</p><dl>${rows}</dl>`);
		}
	};
}

/** A new RS256 private JWK with a random kid. */
export async function generateSigningKey(): Promise<Record<string, unknown>> {
	const { privateKey } = await new Promise<{ privateKey: import('node:crypto').KeyObject }>((resolve, reject) => {
		generateKeyPair('rsa', { modulusLength: 2048 }, (error, _publicKey, key) => (error ? reject(error) : resolve({ privateKey: key })));
	});
	return { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('base64url'), alg: 'RS256', use: 'sig' };
}

/** GET shows the sign-in page; POST signs in as the chosen test user or cancels. */
async function interaction(provider: Provider, settings: IssuerSettings, uid: string, req: IncomingMessage, res: ServerResponse) {
	if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') {
		res.setHeader('Allow', 'GET, HEAD, POST');
		sendPage(res, 405, settings.title, '<p>Method not allowed.</p>');
		return;
	}
	let details: Interaction;
	try {
		details = await provider.interactionDetails(req, res);
	} catch (error) {
		if (error instanceof Error && error.name === 'SessionNotFound') {
			sendPage(res, 400, settings.title, expiredMessage());
			return;
		}
		throw error;
	}
	if (details.uid !== uid) {
		sendPage(res, 400, settings.title, expiredMessage());
		return;
	}
	if (details.prompt.name !== 'login') {
		sendPage(res, 500, settings.title, '<p>This sign-in asked for an unexpected step. Go back to doorcode and try again.</p>');
		return;
	}
	if (req.method !== 'POST') {
		sendPage(res, 200, settings.title, signInForm(settings, details));
		return;
	}
	const form = await readUrlEncodedBody(req);
	if (!form) {
		sendPage(res, 413, settings.title, '<p>The form was too large.</p>');
		return;
	}
	if (form.get('action') === 'cancel') {
		await provider.interactionFinished(
			req,
			res,
			{ error: 'access_denied', error_description: 'The user cancelled the sign-in' },
			{ mergeWithLastSubmission: false }
		);
		return;
	}
	const user = settings.users.find((candidate) => candidate.sub === form.get('user'));
	if (!user) {
		sendPage(res, 400, settings.title, '<p>Unknown test user. Go back and choose one of the listed users.</p>');
		return;
	}
	await provider.interactionFinished(req, res, { login: { accountId: user.sub, remember: false } }, { mergeWithLastSubmission: false });
}

function expiredMessage(): string {
	return '<p>This sign-in request has expired or was already used. Go back to doorcode and start the sign-in again.</p>';
}

function signInForm(settings: IssuerSettings, details: Interaction): string {
	const redirectUri = typeof details.params.redirect_uri === 'string' ? details.params.redirect_uri : '';
	const scope = typeof details.params.scope === 'string' ? details.params.scope : '';
	let requester = 'doorcode';
	try {
		if (redirectUri) requester = `doorcode at ${new URL(redirectUri).origin}`;
	} catch {
		// keep the generic name
	}
	const choices = settings.users
		.map((user, index) => {
			const id = `user-${index}`;
			const detail = user.email ?? user.sub;
			return `<label class="user" for="${id}"><input type="radio" id="${id}" name="user" value="${escapeHtml(user.sub)}"${index === 0 ? ' checked' : ''}> <span class="name">${escapeHtml(user.name)}</span> <span class="detail">${escapeHtml(detail)}</span></label>`;
		})
		.join('\n');
	return `<p>This is a <strong>local test sign-in</strong> run by doorcode for development: no password, nothing is sent to the real service. Choose who to sign in as.</p>
<p class="request">${escapeHtml(requester)} asks who you are${scope ? ` (scope: <code>${escapeHtml(scope)}</code>)` : ''}.</p>
<form method="post" action="/interaction/${escapeHtml(details.uid)}">
<fieldset>
<legend>Test user</legend>
${choices}
</fieldset>
<div class="actions">
<button type="submit" name="action" value="sign-in">Sign in</button>
<button type="submit" name="action" value="cancel" class="secondary">Cancel</button>
</div>
</form>`;
}

function page(title: string, heading: string, body: string): string {
	return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(heading)} · ${escapeHtml(title)}</title>
<style>
:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5}
body{margin:0;padding:2rem 1rem;background:#f4f5f7;color:#1c1e21}
main{max-width:28rem;margin:0 auto;background:#fff;border:1px solid #d8dbe0;border-radius:.5rem;padding:1.5rem}
h1{font-size:1.25rem;margin:0 0 .25rem}
.badge{display:inline-block;font-size:.75rem;font-weight:600;text-transform:uppercase;letter-spacing:.04em;color:#7a4b00;background:#fff1d6;border-radius:.25rem;padding:.1rem .4rem;margin-bottom:.75rem}
fieldset{border:1px solid #d8dbe0;border-radius:.375rem;margin:1rem 0;padding:.5rem .75rem}
legend{font-weight:600;padding:0 .25rem}
label.user{display:flex;flex-wrap:wrap;align-items:baseline;gap:.5rem;padding:.4rem 0;cursor:pointer}
label.user .detail{color:#5b616b;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em}
.request{color:#5b616b;font-size:.9rem}
.actions{display:flex;gap:.75rem}
button{font:inherit;font-weight:600;padding:.5rem 1.25rem;border-radius:.375rem;border:1px solid #1f6feb;background:#1f6feb;color:#fff;cursor:pointer}
button.secondary{background:transparent;color:#1f6feb}
button:focus-visible,input:focus-visible{outline:3px solid #f0b400;outline-offset:2px}
dt{font-weight:600}dd{margin:0 0 .5rem;word-break:break-word}
@media (prefers-color-scheme:dark){body{background:#16181c;color:#e6e8eb}main{background:#1f2227;border-color:#353a42}fieldset{border-color:#353a42}label.user .detail,.request{color:#a3a9b3}.badge{background:#4a3500;color:#ffd98a}button.secondary{color:#79b0ff;border-color:#79b0ff}}
</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<span class="badge">Development only</span>
${body}
</main>
</body>
</html>`;
}

function sendPage(res: ServerResponse, status: number, title: string, body: string) {
	const heading = status === 200 ? 'Sign in' : 'Sign-in error';
	const html = page(title, heading, body);
	res.writeHead(status, {
		'Content-Type': 'text/html; charset=utf-8',
		'Content-Length': Buffer.byteLength(html),
		'Cache-Control': 'no-store',
		'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
		'Referrer-Policy': 'no-referrer',
		'X-Content-Type-Options': 'nosniff'
	});
	res.end(html);
}

/** Reads an application/x-www-form-urlencoded body; undefined when it is too large. */
async function readUrlEncodedBody(req: IncomingMessage): Promise<URLSearchParams | undefined> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of req) {
		const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
		size += buffer.length;
		if (size > MAX_FORM_BYTES) return undefined;
		chunks.push(buffer);
	}
	return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function escapeHtml(value: string): string {
	return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function listen(server: Server, port: number): Promise<void> {
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, '127.0.0.1', () => {
			server.off('error', reject);
			resolve();
		});
	});
}

function closeServer(server: Server): Promise<void> {
	return new Promise((resolve) => {
		if (!server.listening) {
			resolve();
			return;
		}
		server.close(() => resolve());
		server.closeAllConnections();
	});
}

/**
 * In-memory storage for oidc-provider's models (its built-in one prints a
 * warning on every start). Entries expire; expired ones are swept lazily.
 */
function memoryAdapter(): new (model: string) => Adapter {
	const items = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
	const grants = new Map<string, Set<string>>();
	const uids = new Map<string, string>();
	const userCodes = new Map<string, string>();
	let lastSweep = Date.now();

	const live = (key: string): AdapterPayload | undefined => {
		const item = items.get(key);
		if (!item) return undefined;
		if (item.expiresAt <= Date.now()) {
			items.delete(key);
			return undefined;
		}
		return item.payload;
	};
	const sweep = () => {
		const now = Date.now();
		if (now - lastSweep < 60_000) return;
		lastSweep = now;
		for (const [key, item] of items) if (item.expiresAt <= now) items.delete(key);
		for (const [grantId, keys] of grants) {
			for (const key of keys) if (!items.has(key)) keys.delete(key);
			if (keys.size === 0) grants.delete(grantId);
		}
		for (const [uid, id] of uids) if (!items.has(`Session:${id}`)) uids.delete(uid);
		for (const [userCode, id] of userCodes) if (!items.has(`DeviceCode:${id}`)) userCodes.delete(userCode);
	};

	return class DevMemoryAdapter implements Adapter {
		readonly model: string;

		constructor(model: string) {
			this.model = model;
		}

		key(id: string): string {
			return `${this.model}:${id}`;
		}

		async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
			sweep();
			const key = this.key(id);
			const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
			items.set(key, { payload, expiresAt });
			if (this.model === 'Session' && payload.uid) uids.set(payload.uid, id);
			if (payload.userCode) userCodes.set(payload.userCode, id);
			if (payload.grantId) {
				const keys = grants.get(payload.grantId) ?? new Set<string>();
				keys.add(key);
				grants.set(payload.grantId, keys);
			}
		}

		async find(id: string): Promise<AdapterPayload | undefined> {
			return live(this.key(id));
		}

		async findByUid(uid: string): Promise<AdapterPayload | undefined> {
			const id = uids.get(uid);
			return id === undefined ? undefined : this.find(id);
		}

		async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
			const id = userCodes.get(userCode);
			return id === undefined ? undefined : this.find(id);
		}

		async consume(id: string): Promise<void> {
			const payload = live(this.key(id));
			if (payload) payload.consumed = Math.floor(Date.now() / 1000);
		}

		async destroy(id: string): Promise<void> {
			const key = this.key(id);
			const payload = items.get(key)?.payload;
			items.delete(key);
			if (payload?.uid && uids.get(payload.uid) === id) uids.delete(payload.uid);
			if (payload?.userCode && userCodes.get(payload.userCode) === id) userCodes.delete(payload.userCode);
		}

		async revokeByGrantId(grantId: string): Promise<void> {
			for (const key of grants.get(grantId) ?? []) items.delete(key);
			grants.delete(grantId);
		}
	};
}
