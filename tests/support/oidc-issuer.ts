import { CompactSign, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';
import { generateSigningKey, startIssuer, type DevUser } from '../../src/lib/server/dev-idp/dev-idp.ts';
import { HttpBrowser } from './http-browser.ts';

/**
 * The tests' third issuer: a real OpenID provider (oidc-provider, through the local
 * identity provider's startIssuer) on loopback, reached only by discovery at its own
 * routes (/auth, /token, /me, /jwks), with groups, a verified and an unverified
 * address, and a signing key the test can rotate. A fault makes it send an ID token
 * that must be refused: signed by a key it does not publish, for another audience,
 * with another nonce, or expired; each re-signed (but the first) with its own key.
 */

export const ISSUER_USERS = {
	/** Verified address, two groups. */
	ada: { sub: 'ada-0001', name: 'Ada Lovelace', email: 'ada@acme.example', groups: ['acme/platform', 'acme/admins'] },
	/** An address the issuer has not verified, one group. */
	grace: { sub: 'grace-0002', name: 'Grace Hopper', email: 'grace@acme.example', emailVerified: false, groups: ['acme/research'] },
	/** No groups claim at all (as issuers that leave it out for a person in none). */
	nora: { sub: 'nora-0003', name: 'Nora Nogroups', email: 'nora@acme.example' }
} satisfies Record<string, DevUser>;

export type IdTokenFault = 'signature' | 'audience' | 'nonce' | 'expired';

export interface TestIssuer {
	issuer: string;
	clientId: string;
	clientSecret: string;
	/** The PROVIDERS_FILE entry for it, with the secret in the file. */
	entry(name: string): Record<string, unknown>;
	/** From now on sign with a new key, and publish only that one. */
	rotateSigningKey(): Promise<void>;
	/** The next ID tokens come with this fault (null: none). */
	setFault(fault: IdTokenFault | null): void;
	/** How many requests reached a path: /.well-known/openid-configuration, /jwks, /me (userinfo), /token. */
	requestsTo(path: string): number;
	close(): Promise<void>;
}

export async function startTestIssuer(options: {
	origin: string;
	id: string;
	port?: number;
	claimsInIdToken?: boolean;
	/** Keep the person's session after a sign-in, as a real issuer does (see IssuerSettings). */
	remembersSignIn?: boolean;
}): Promise<TestIssuer> {
	let signingKey = await generateSigningKey();
	let fault: IdTokenFault | null = null;
	const requests = new Map<string, number>();
	const running = await startIssuer(
		{
			id: options.id,
			title: 'Acme SSO (test issuer)',
			users: Object.values(ISSUER_USERS),
			claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'], groups: ['groups'] },
			oauthRoutes: false,
			claimsInIdToken: options.claimsInIdToken ?? false,
			remembersSignIn: options.remembersSignIn ?? false
		},
		{
			origin: options.origin,
			port: options.port,
			signingKey,
			onProvider: (provider) =>
				provider.use(async (ctx, next) => {
					requests.set(ctx.path, (requests.get(ctx.path) ?? 0) + 1);
					await next();
					const body = ctx.body as { id_token?: unknown } | undefined;
					if (fault && ctx.path === '/token' && typeof body?.id_token === 'string') body.id_token = await forge(body.id_token, fault, signingKey);
				})
		}
	);
	const { baseUrl, clientId, clientSecret } = running.info;
	return {
		issuer: baseUrl,
		clientId,
		clientSecret,
		entry: (name) => ({
			id: options.id,
			kind: 'oidc',
			name,
			issuer: baseUrl,
			client_id: clientId,
			client_secret: clientSecret,
			scopes: ['openid', 'profile', 'email', 'groups'],
			groups_claim: 'groups'
		}),
		async rotateSigningKey() {
			signingKey = await generateSigningKey();
			running.rotateSigningKey(signingKey);
		},
		setFault(next) {
			fault = next;
		},
		requestsTo: (path) => requests.get(path) ?? 0,
		close: () => running.close()
	};
}

/** The issuer's ID token with one thing wrong, signed again. */
async function forge(idToken: string, fault: IdTokenFault, issuerKey: Record<string, unknown>): Promise<string> {
	const header = decodeProtectedHeader(idToken);
	const claims = decodeJwt(idToken);
	const now = Math.floor(Date.now() / 1000);
	if (fault === 'audience') claims.aud = 'someone-else';
	if (fault === 'nonce') claims.nonce = 'not-the-nonce-this-sign-in-sent';
	if (fault === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
	// A key the issuer does not publish, under the kid of the one it does.
	const key = fault === 'signature' ? { ...(await generateSigningKey()), kid: header.kid } : issuerKey;
	return new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader({ ...header, alg: 'RS256' }).sign(await importJWK(key, 'RS256'));
}

/**
 * A person at the issuer's sign-in page, without a screen: opens the authorization URL,
 * chooses the test user (or Cancel) and follows the redirects back to doorcode's callback.
 * Pass the same `browser` to keep the issuer's cookies from one sign-in to the next.
 */
export async function walkSignIn(
	authorizationUrl: URL,
	origin: string,
	sub: string,
	action: 'sign-in' | 'cancel' = 'sign-in',
	browser = new HttpBrowser()
): Promise<URLSearchParams> {
	const first = await browser.request(authorizationUrl.href);
	const pageUrl = new URL(first.headers.get('location') ?? '', authorizationUrl);
	const html = await (await browser.request(pageUrl.href)).text();
	const formAction = /<form[^>]*\saction="([^"]+)"/.exec(html)?.[1];
	if (!formAction) throw new Error(`no sign-in form at ${pageUrl}: ${html.slice(0, 500)}`);
	const callback = await browser.followUntil(origin, new URL(formAction, pageUrl).href, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({ user: sub, action }).toString()
	});
	return callback.searchParams;
}

/**
 * Opens the authorization URL in `browser` and follows the issuer's redirects: the
 * callback's query when the issuer answers without showing its sign-in page (it
 * remembers the person), null when it shows the page.
 */
export async function signInWithoutPage(authorizationUrl: URL, origin: string, browser: HttpBrowser): Promise<URLSearchParams | null> {
	let current = authorizationUrl;
	for (let hops = 0; hops < 10; hops++) {
		const response = await browser.request(current.href);
		const location = response.headers.get('location');
		if (response.status === 200) return null;
		if (response.status < 300 || response.status >= 400 || !location) throw new Error(`unexpected ${response.status} from ${current}`);
		current = new URL(location, current);
		if (current.origin === origin) return current.searchParams;
	}
	throw new Error('too many redirects');
}
