import { decodeIdToken } from 'arctic';
import type { Config } from '../../core/config';
import type { BuiltInProviderConfig } from '../../core/providers';
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
	type CallbackParams,
	type SignInResult,
	type SignInStart,
	type StartOptions
} from './upstream';

/**
 * ORCID and Clerk: their endpoints are fixed below the base URL (SPEC), and the ID
 * token comes straight from the token endpoint over TLS, so its `sub` is read as it
 * is (OpenID Connect Core §3.1.3.7); the profile comes from userinfo.
 */

/** Both are OpenID providers: another account is asked for with `prompt=login`. */
export function startBuiltInSignIn(config: Config, provider: BuiltInProviderConfig, options: StartOptions): SignInStart {
	return startWithPkce(oauthClient(config, provider), `${provider.baseUrl}/oauth/authorize`, provider.scopes, {
		withNonce: false,
		prompt: openIdPrompt(options)
	});
}

export async function completeBuiltInSignIn(config: Config, provider: BuiltInProviderConfig, { code, codeVerifier }: CallbackParams): Promise<SignInResult> {
	const exchanged = await exchangeCode(oauthClient(config, provider), `${provider.baseUrl}/oauth/token`, code, codeVerifier);
	if (!exchanged.ok) return exchanged;
	const tokens = exchanged.value;
	let idTokenSub: string | null = null;
	if (typeof tokens.id_token === 'string') {
		try {
			const claims = decodeIdToken(tokens.id_token) as { sub?: unknown };
			if (typeof claims.sub === 'string') idTokenSub = claims.sub;
		} catch {
			return failure('invalid_token', 'the ID token could not be decoded');
		}
	}
	const answer = await getJson(`${provider.baseUrl}/oauth/userinfo`, { Authorization: `Bearer ${tokens.access_token as string}` }, 'the userinfo endpoint');
	if (!answer.ok) return answer;
	const userinfo = objectOf(answer.value.body);
	if (answer.value.status !== 200 || !userinfo) return failure('profile', `the userinfo endpoint answered ${answer.value.status}`);
	const id = idTokenSub ?? (typeof userinfo.sub === 'string' ? userinfo.sub : null);
	if (!id) return failure('profile', 'neither the ID token nor userinfo named who signed in');
	if (typeof userinfo.sub === 'string' && userinfo.sub !== id) return failure('profile', "the ID token's sub and userinfo's differ");
	return { ok: true, identity: { provider: provider.id, sub: `${provider.id}:${id}`, name: nameOf(userinfo), email: emailOf(userinfo), groups: null } };
}
