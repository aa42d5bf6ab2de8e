import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../../core/config';
import type { OidcProviderConfig } from '../../core/providers';
import { isHttpsOrLoopback } from '../../core/addresses';
import {
	emailOf,
	exchangeCode,
	failure,
	getJson,
	nameOf,
	oauthClient,
	objectOf,
	openIdPrompt,
	startWithPkce,
	UPSTREAM_TIMEOUT_MS,
	type CallbackParams,
	type SignInResult,
	type SignInStart,
	type StartOptions,
	type Upstream
} from './upstream';

/**
 * Any OpenID Connect issuer (`kind: "oidc"`): its endpoints from discovery, the
 * authorization code with PKCE, state and nonce, and its ID token validated here
 * with jose: the signature by the issuer's JWK Set, `iss`, `aud`, `exp` and `nonce`.
 *
 * Each instance of doorcode keeps, per issuer, the discovery document for an hour
 * and the JWK Set as jose's createRemoteJWKSet does (fetched again after ten
 * minutes, or at once for a key id it does not know, so a rotation works). A
 * failed discovery is not kept: the next sign-in asks again. Nothing is fetched
 * at start-up, so an issuer that is down does not stop doorcode.
 */

export interface IssuerCacheTimes {
	/** How long a discovery document is used before it is fetched again. */
	discoveryMaxAgeMs: number;
	/** After a JWK Set fetch, how long an unknown key id waits before the set is fetched again (jose's cooldown). */
	jwksCooldownMs: number;
}

const CACHE_TIMES: IssuerCacheTimes = { discoveryMaxAgeMs: 60 * 60 * 1000, jwksCooldownMs: 30_000 };
/** Seconds of clock difference with the issuer tolerated on `exp`, `iat` and `nbf`. */
const CLOCK_TOLERANCE_SECONDS = 60;
/** A person's groups as kept: at most this many, each at most this long. */
const MAX_GROUPS = 1000;
const MAX_GROUP_LENGTH = 256;

interface Discovered {
	issuer: string;
	authorizationEndpoint: string;
	tokenEndpoint: string;
	userinfoEndpoint: string | null;
	jwksUri: string;
	jwks: JWTVerifyGetKey;
	fetchedAt: number;
}

export class OpenIdIssuer {
	private discovered: Discovered | null = null;
	private pending: Promise<Upstream<Discovered>> | null = null;

	constructor(
		readonly provider: OidcProviderConfig,
		private readonly times: IssuerCacheTimes = CACHE_TIMES
	) {}

	async startSignIn(config: Config, options: StartOptions): Promise<Upstream<SignInStart>> {
		const discovered = await this.discover();
		if (!discovered.ok) return discovered;
		const { authorizationEndpoint } = discovered.value;
		const start = startWithPkce(oauthClient(config, this.provider), authorizationEndpoint, this.provider.scopes, {
			withNonce: true,
			prompt: openIdPrompt(options)
		});
		return { ok: true, value: start };
	}

	async completeSignIn(config: Config, { code, codeVerifier, nonce }: CallbackParams): Promise<SignInResult> {
		const discovered = await this.discover();
		if (!discovered.ok) return discovered;
		const issuer = discovered.value;
		const exchanged = await exchangeCode(oauthClient(config, this.provider), issuer.tokenEndpoint, code, codeVerifier);
		if (!exchanged.ok) return exchanged;
		const { id_token: idToken, access_token: accessToken } = exchanged.value;
		if (typeof idToken !== 'string') return failure('invalid_token', 'the token endpoint answered without an ID token');
		const verified = await this.verifyIdToken(issuer, idToken, nonce);
		if (!verified.ok) return verified;
		const claims = verified.value;
		let userinfo: Record<string, unknown> = {};
		if (issuer.userinfoEndpoint && this.lacksClaims(claims)) {
			const read = await readUserinfo(issuer.userinfoEndpoint, accessToken as string, claims.sub as string);
			if (!read.ok) return read;
			userinfo = read.value;
		}
		const { groupsClaim } = this.provider;
		return {
			ok: true,
			identity: {
				provider: this.provider.id,
				sub: `${this.provider.id}:${claims.sub}`,
				name: nameOf(claims) ?? nameOf(userinfo) ?? usernameOf(claims) ?? usernameOf(userinfo),
				email: emailOf(claims) ?? emailOf(userinfo),
				// The claim left out means no groups: some issuers omit it for a person in none.
				groups: groupsClaim === null ? null : groupsOf(groupsClaim in claims ? claims[groupsClaim] : userinfo[groupsClaim])
			}
		};
	}

	/** Userinfo is read only for what the ID token left out. */
	private lacksClaims(claims: JWTPayload): boolean {
		const { groupsClaim, scopes } = this.provider;
		return nameOf(claims) === null || (scopes.includes('email') && claims.email === undefined) || (groupsClaim !== null && !(groupsClaim in claims));
	}

	private async verifyIdToken(issuer: Discovered, idToken: string, nonce: string | null): Promise<Upstream<JWTPayload>> {
		let payload: JWTPayload;
		try {
			({ payload } = await jwtVerify(idToken, issuer.jwks, {
				issuer: issuer.issuer,
				audience: this.provider.clientId,
				clockTolerance: CLOCK_TOLERANCE_SECONDS,
				requiredClaims: ['sub', 'exp', 'iat']
			}));
		} catch (error) {
			// A network failure, a timeout, or an answer other than a JSON key set with 200 (jose's generic error).
			if (!(error instanceof joseErrors.JOSEError) || error instanceof joseErrors.JWKSTimeout || error.code === 'ERR_JOSE_GENERIC') {
				return failure('unreachable', `the issuer's JWK Set could not be read (${(error as Error).message})`);
			}
			return failure('invalid_token', `the ID token is not valid (${error.code}: ${error.message})`);
		}
		// The nonce ties the ID token to the sign-in this browser started.
		if (nonce === null || payload.nonce !== nonce) return failure('invalid_token', "the ID token's nonce is not the one this sign-in sent");
		if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== this.provider.clientId) {
			return failure('invalid_token', 'the ID token has several audiences and its azp is not this client');
		}
		return { ok: true, value: payload };
	}

	/** The discovery document, from this instance's cache while it is fresh; concurrent sign-ins share one fetch. */
	private async discover(): Promise<Upstream<Discovered>> {
		if (this.discovered && Date.now() - this.discovered.fetchedAt < this.times.discoveryMaxAgeMs) return { ok: true, value: this.discovered };
		this.pending ??= this.fetchDiscovery().finally(() => {
			this.pending = null;
		});
		return this.pending;
	}

	private async fetchDiscovery(): Promise<Upstream<Discovered>> {
		const url = `${this.provider.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
		const answer = await getJson(url, {}, 'the discovery document');
		if (!answer.ok) return answer;
		const document = objectOf(answer.value.body);
		if (answer.value.status !== 200 || !document) return failure('unreachable', `the discovery document answered ${answer.value.status}`);
		if (document.issuer !== this.provider.issuer) {
			return failure('unreachable', `the discovery document names another issuer (${String(document.issuer).slice(0, 100)})`);
		}
		const endpoints: Record<string, string | null> = {};
		for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint']) {
			const value = document[key];
			if (value === undefined && key === 'userinfo_endpoint') {
				endpoints[key] = null;
				continue;
			}
			if (typeof value !== 'string' || !URL.canParse(value) || !isHttpsOrLoopback(new URL(value))) {
				return failure('unreachable', `the discovery document's ${key} is not an https URL`);
			}
			endpoints[key] = value;
		}
		const jwksUri = endpoints.jwks_uri as string;
		// A key set already fetched stays, with what jose knows of it, while its address is unchanged.
		const jwks =
			this.discovered?.jwksUri === jwksUri
				? this.discovered.jwks
				: createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: this.times.jwksCooldownMs, timeoutDuration: UPSTREAM_TIMEOUT_MS });
		this.discovered = {
			issuer: this.provider.issuer,
			authorizationEndpoint: endpoints.authorization_endpoint as string,
			tokenEndpoint: endpoints.token_endpoint as string,
			userinfoEndpoint: endpoints.userinfo_endpoint,
			jwksUri,
			jwks,
			fetchedAt: Date.now()
		};
		return { ok: true, value: this.discovered };
	}
}

async function readUserinfo(endpoint: string, accessToken: string, sub: string): Promise<Upstream<Record<string, unknown>>> {
	const answer = await getJson(endpoint, { Authorization: `Bearer ${accessToken}` }, 'the userinfo endpoint');
	if (!answer.ok) return answer;
	const userinfo = objectOf(answer.value.body);
	if (answer.value.status !== 200 || !userinfo) return failure('profile', `the userinfo endpoint answered ${answer.value.status}`);
	// OpenID Connect Core §5.3.2: userinfo about anyone else is not used.
	if (userinfo.sub !== sub) return failure('profile', "userinfo's sub is not the ID token's");
	return { ok: true, value: userinfo };
}

function usernameOf(claims: Record<string, unknown>): string | null {
	return typeof claims.preferred_username === 'string' && claims.preferred_username.trim() ? claims.preferred_username.trim() : null;
}

/** The groups claim's strings; anything else in it is ignored. */
function groupsOf(value: unknown): string[] {
	if (!Array.isArray(value)) return [];
	return value.filter((group): group is string => typeof group === 'string' && group.length > 0 && group.length <= MAX_GROUP_LENGTH).slice(0, MAX_GROUPS);
}

const issuers = new WeakMap<OidcProviderConfig, OpenIdIssuer>();

/** This instance's one OpenIdIssuer for a configured provider, with its caches. */
export function issuerFor(provider: OidcProviderConfig): OpenIdIssuer {
	let issuer = issuers.get(provider);
	if (!issuer) {
		issuer = new OpenIdIssuer(provider);
		issuers.set(provider, issuer);
	}
	return issuer;
}
