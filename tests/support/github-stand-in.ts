import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * GitHub on loopback, for the tests (github.com cannot be reached from here): the
 * parts doorcode calls, modelled on GitHub's documented answers. The web at
 * base_url (/login/oauth/authorize with a page to choose a test user, Authorize or
 * Cancel; /login/oauth/access_token, which answers refusals with 200 and an `error`
 * such as bad_verification_code) and the REST API at base_url/api/v3, as GitHub
 * Enterprise Server lays it out (/user, /user/emails, /user/orgs, /user/teams; lists
 * 100 a page with a Link header; 401 for a bad token, 403 for /user/orgs and
 * /user/teams without `read:org` or `user`, 404 for /user/emails without
 * `user:email` or `user`, 403 with x-ratelimit-remaining: 0 when rate limited).
 *
 * Started with `remembersSignIn`, it keeps who authorized in the browser (a cookie),
 * as github.com's session does: the next authorization for scopes that person already
 * granted goes straight back to the callback without a page (GitHub's "instant
 * authentication"), unless the request says `prompt=select_account`, which GitHub
 * documents as forcing its account picker (github.blog changelog, 2024-06-07).
 */

export interface GitHubTestUser {
	id: number;
	login: string;
	name: string | null;
	emails: { email: string; primary: boolean; verified: boolean }[];
	orgs: string[];
	/** `org/slug` */
	teams: string[];
}

export const GITHUB_USERS = {
	/** A name, a verified primary address, two organizations and a team. */
	octo: {
		id: 583231,
		login: 'octocat',
		name: 'The Octocat',
		emails: [
			{ email: 'octocat@github.example', primary: false, verified: true },
			{ email: 'Octo@Acme.Example', primary: true, verified: true }
		],
		orgs: ['Acme', 'octo-org'],
		teams: ['Acme/platform']
	},
	/** No profile name, an unverified primary address, and 150 teams: two pages. */
	mona: {
		id: 1000002,
		login: 'monalisa',
		name: null,
		emails: [{ email: 'mona@acme.example', primary: true, verified: false }],
		orgs: ['big'],
		teams: Array.from({ length: 150 }, (_, index) => `big/team-${String(index).padStart(3, '0')}`)
	}
} satisfies Record<string, GitHubTestUser>;

/** What the stand-in does wrong, for a test: refuse every code, or answer the API as rate limited. */
export type GitHubFault = 'bad_verification_code' | 'rate_limited' | null;

export interface GitHubStandIn {
	baseUrl: string;
	apiUrl: string;
	clientId: string;
	clientSecret: string;
	/** The PROVIDERS_FILE entry for it; `scopes` when not GitHub's default. */
	entry(name: string, scopes?: string[]): Record<string, unknown>;
	setFault(fault: GitHubFault): void;
	/** The `prompt` of each authorization request the browser opened, in order (null: none). */
	promptsReceived(): (string | null)[];
	/** A person on the authorize page, without a screen: Authorize as `login` (or Cancel); the callback's query. */
	authorize(authorizationUrl: URL, login: string, action?: 'authorize' | 'cancel'): Promise<URLSearchParams>;
	close(): Promise<void>;
}

interface Grant {
	user: GitHubTestUser;
	scopes: string[];
	redirectUri: string;
	codeChallenge: string | null;
	expiresAt: number;
}

const PAGE_SIZE_MAX = 100;
const CODE_TTL_MS = 10 * 60 * 1000;
const DOCS = 'https://docs.github.com/rest';

export async function startGitHubStandIn(options: { origin: string; id: string; port?: number; remembersSignIn?: boolean }): Promise<GitHubStandIn> {
	const clientId = `Iv1.${randomBytes(8).toString('hex')}`;
	const clientSecret = randomBytes(20).toString('hex');
	const callback = `${new URL(options.origin).origin}/login/${options.id}/callback`;
	const codes = new Map<string, Grant>();
	const tokens = new Map<string, { user: GitHubTestUser; scopes: string[] }>();
	let fault: GitHubFault = null;
	const prompts: (string | null)[] = [];
	/** With remembersSignIn: each signed-in session (its cookie's value) → who, and the scopes they granted this app. */
	const sessions = new Map<string, { user: GitHubTestUser; scopes: Set<string> }>();
	const sessionCookie = `${options.id}_stand_in_session`;
	let baseUrl = '';

	const server = createServer((req, res) => {
		handle(req, res).catch((error: unknown) => {
			console.error('GitHub stand-in:', error);
			if (!res.headersSent) json(res, 500, { message: 'Server Error' });
		});
	});

	async function handle(req: IncomingMessage, res: ServerResponse) {
		const url = new URL(req.url ?? '/', baseUrl);
		if (url.pathname === '/login/oauth/authorize') return authorize(req, res, url);
		if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') return accessToken(req, res);
		if (url.pathname.startsWith('/api/v3/') && req.method === 'GET') return api(req, res, url);
		json(res, 404, { message: 'Not Found', documentation_url: DOCS });
	}

	async function authorize(req: IncomingMessage, res: ServerResponse, url: URL) {
		const params = req.method === 'POST' ? await formOf(req) : url.searchParams;
		if (params.get('client_id') !== clientId) return page(res, 404, '<p>Not Found: no application has this client_id.</p>');
		const redirectUri = params.get('redirect_uri') ?? callback;
		if (redirectUri !== callback) return page(res, 400, '<p>The redirect_uri MUST match the registered callback URL for this application.</p>');
		const state = params.get('state') ?? '';
		const back = (fields: Record<string, string>) => {
			const to = new URL(redirectUri);
			for (const [key, value] of Object.entries({ ...fields, state })) to.searchParams.set(key, value);
			res.writeHead(302, { Location: to.href }).end();
		};
		const scopes = (params.get('scope') ?? '').split(/[\s,]+/).filter(Boolean);
		const issueCode = (user: GitHubTestUser) => {
			const code = randomBytes(10).toString('hex');
			codes.set(code, { user, scopes, redirectUri, codeChallenge: params.get('code_challenge'), expiresAt: Date.now() + CODE_TTL_MS });
			return code;
		};
		if (req.method !== 'POST') {
			prompts.push(params.get('prompt'));
			const session = sessionOf(req);
			const granted = session !== undefined && scopes.every((scope) => session.scopes.has(scope));
			if (granted && params.get('prompt') !== 'select_account') return back({ code: issueCode(session.user) });
			return page(res, 200, authorizePage(params));
		}
		if (params.get('action') === 'cancel') {
			return back({
				error: 'access_denied',
				error_description: 'The user has denied your application access.',
				error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied'
			});
		}
		const user = Object.values(GITHUB_USERS).find((candidate) => candidate.login === params.get('login'));
		if (!user) return page(res, 400, '<p>Unknown test user.</p>');
		if (options.remembersSignIn) {
			const id = randomBytes(16).toString('hex');
			sessions.set(id, { user, scopes: new Set(scopes) });
			res.setHeader('Set-Cookie', `${sessionCookie}=${id}; Path=/; HttpOnly; SameSite=Lax`);
		}
		back({ code: issueCode(user) });
	}

	function sessionOf(req: IncomingMessage) {
		const cookies = (req.headers.cookie ?? '').split(';').map((pair) => pair.trim().split('='));
		const id = cookies.find(([name]) => name === sessionCookie)?.[1];
		return id === undefined ? undefined : sessions.get(id);
	}

	async function accessToken(req: IncomingMessage, res: ServerResponse) {
		const form = await formOf(req);
		const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
		const [id, secret] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':') : [form.get('client_id'), form.get('client_secret')];
		// GitHub answers these with 200 and an error object when JSON is asked for.
		const refuse = (error: string, description: string) => json(res, 200, { error, error_description: description, error_uri: `${DOCS}#${error}` });
		if (id !== clientId || secret !== clientSecret) return refuse('incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.');
		const code = form.get('code') ?? '';
		const grant = codes.get(code);
		codes.delete(code);
		const verifier = form.get('code_verifier');
		const pkceHolds = !grant?.codeChallenge || (verifier !== null && createHash('sha256').update(verifier).digest('base64url') === grant.codeChallenge);
		if (fault === 'bad_verification_code' || !grant || grant.expiresAt < Date.now() || !pkceHolds) {
			return refuse('bad_verification_code', 'The code passed is incorrect or expired.');
		}
		if (form.has('redirect_uri') && form.get('redirect_uri') !== grant.redirectUri) {
			return refuse('redirect_uri_mismatch', 'The redirect_uri MUST match the registered callback URL for this application.');
		}
		const token = `gho_${randomBytes(18).toString('base64url')}`;
		tokens.set(token, { user: grant.user, scopes: grant.scopes });
		json(res, 200, { access_token: token, token_type: 'bearer', scope: grant.scopes.join(',') });
	}

	function api(req: IncomingMessage, res: ServerResponse, url: URL) {
		const token = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
		const holder = token ? tokens.get(token) : undefined;
		if (!holder) return json(res, 401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
		const { user, scopes } = holder;
		if (fault === 'rate_limited') {
			res.setHeader('x-ratelimit-limit', '5000');
			res.setHeader('x-ratelimit-remaining', '0');
			return json(res, 403, { message: `API rate limit exceeded for user ID ${user.id}.`, documentation_url: DOCS, status: '403' });
		}
		res.setHeader('X-OAuth-Scopes', scopes.join(', '));
		const has = (...any: string[]) => any.some((scope) => scopes.includes(scope));
		const path = url.pathname.slice('/api/v3'.length);
		if (path === '/user') return json(res, 200, { login: user.login, id: user.id, type: 'User', name: user.name, email: null });
		if (path === '/user/emails') {
			if (!has('user:email', 'user')) return json(res, 404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
			return list(
				res,
				url,
				user.emails.map((email) => ({ ...email, visibility: email.primary ? 'private' : null }))
			);
		}
		if (path === '/user/orgs' || path === '/user/teams') {
			if (!has('read:org', 'user')) {
				return json(res, 403, {
					message: 'You need at least read:org scope or user scope to list your organizations.',
					documentation_url: DOCS,
					status: '403'
				});
			}
			if (path === '/user/orgs')
				return list(
					res,
					url,
					user.orgs.map((login, index) => ({ login, id: 9000 + index }))
				);
			return list(
				res,
				url,
				user.teams.map((team, index) => {
					const [org = '', slug = ''] = team.split('/');
					return { id: 7000 + index, slug, name: slug, organization: { login: org, id: 9000 } };
				})
			);
		}
		json(res, 404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
	}

	function list(res: ServerResponse, url: URL, items: unknown[]) {
		const perPage = Math.min(PAGE_SIZE_MAX, Number(url.searchParams.get('per_page') ?? 30));
		const pageNumber = Number(url.searchParams.get('page') ?? 1);
		const last = Math.max(1, Math.ceil(items.length / perPage));
		if (pageNumber < last) {
			const next = new URL(url);
			next.searchParams.set('page', String(pageNumber + 1));
			const final = new URL(url);
			final.searchParams.set('page', String(last));
			res.setHeader('Link', `<${next.href}>; rel="next", <${final.href}>; rel="last"`);
		}
		json(res, 200, items.slice((pageNumber - 1) * perPage, pageNumber * perPage));
	}

	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
	});
	baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	return {
		baseUrl,
		apiUrl: `${baseUrl}/api/v3`,
		clientId,
		clientSecret,
		entry: (name, scopes) => ({
			id: options.id,
			kind: 'github',
			name,
			client_id: clientId,
			client_secret: clientSecret,
			base_url: baseUrl,
			api_url: `${baseUrl}/api/v3`,
			...(scopes ? { scopes } : {})
		}),
		setFault(next) {
			fault = next;
		},
		promptsReceived: () => [...prompts],
		async authorize(authorizationUrl, login, action = 'authorize') {
			const form = new URLSearchParams(authorizationUrl.searchParams);
			form.set('login', login);
			form.set('action', action);
			const response = await fetch(`${baseUrl}/login/oauth/authorize`, {
				method: 'POST',
				headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
				body: form.toString(),
				redirect: 'manual'
			});
			const location = response.headers.get('location');
			if (response.status !== 302 || !location) throw new Error(`expected a redirect to the callback, got ${response.status}: ${await response.text()}`);
			return new URL(location).searchParams;
		},
		close: () => closeServer(server)
	};
}

function authorizePage(params: URLSearchParams): string {
	const hidden = ['client_id', 'redirect_uri', 'state', 'scope', 'code_challenge', 'code_challenge_method']
		.filter((key) => params.has(key))
		.map((key) => `<input type="hidden" name="${key}" value="${escapeHtml(params.get(key) ?? '')}">`)
		.join('');
	const users = Object.values(GITHUB_USERS)
		.map(
			(user, index) =>
				`<label><input type="radio" name="login" value="${user.login}"${index === 0 ? ' checked' : ''}> ${escapeHtml(user.name ?? user.login)} (${user.login})</label>`
		)
		.join('<br>');
	return `<h1>Authorize application</h1><p>Scopes: <code>${escapeHtml(params.get('scope') ?? '')}</code></p>
<form method="post" action="/login/oauth/authorize">${hidden}<fieldset><legend>Test user</legend>${users}</fieldset>
<button type="submit" name="action" value="authorize">Authorize</button> <button type="submit" name="action" value="cancel">Cancel</button></form>`;
}

function page(res: ServerResponse, status: number, body: string) {
	res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' });
	res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>GitHub (test stand-in)</title></head><body>${body}</body></html>`);
}

function json(res: ServerResponse, status: number, body: unknown) {
	res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
	res.end(JSON.stringify(body));
}

async function formOf(req: IncomingMessage): Promise<URLSearchParams> {
	const chunks: Buffer[] = [];
	for await (const chunk of req) chunks.push(chunk as Buffer);
	return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function escapeHtml(value: string): string {
	return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function closeServer(server: Server): Promise<void> {
	return new Promise((resolve) => {
		server.close(() => resolve());
		server.closeAllConnections();
	});
}
