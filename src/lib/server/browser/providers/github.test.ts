import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitHubProviderConfig } from '../../core/providers';
import { configWithProvider } from '../../../../../tests/support/providers-config.ts';
import { completeGitHubSignIn, startGitHubSignIn } from './github';
import type { SignInResult, StartOptions } from './upstream';
import { GITHUB_USERS, startGitHubStandIn, type GitHubStandIn } from '../../../../../tests/support/github-stand-in.ts';

/** kind: "github" against a stand-in on loopback that answers as GitHub documents (github.com cannot be reached from here). */

const ORIGIN = 'http://localhost:4997';
const PLAIN: StartOptions = { anotherAccount: false };

let github: GitHubStandIn;

beforeAll(async () => {
	github = await startGitHubStandIn({ origin: ORIGIN, id: 'github' });
});

afterAll(async () => {
	await github?.close();
});

const configured = (entry: Record<string, unknown>) => configWithProvider<GitHubProviderConfig>(ORIGIN, entry);

async function signIn(login: string, scopes?: string[]): Promise<SignInResult> {
	const { config, provider } = configured(github.entry('GitHub', scopes));
	const start = startGitHubSignIn(config, provider, PLAIN);
	const callback = await github.authorize(start.url, login);
	expect(callback.get('state')).toBe(start.state);
	return completeGitHubSignIn(config, provider, { code: callback.get('code') ?? '', codeVerifier: start.codeVerifier, nonce: null });
}

describe('GitHub', () => {
	it("sends the browser to {base_url}/login/oauth/authorize with PKCE (S256), state, GitHub's default scopes and the callback", () => {
		const { config, provider } = configured(github.entry('GitHub'));
		const { url, state, nonce } = startGitHubSignIn(config, provider, PLAIN);
		expect(`${url.origin}${url.pathname}`).toBe(`${github.baseUrl}/login/oauth/authorize`);
		expect(Object.fromEntries(url.searchParams)).toEqual({
			response_type: 'code',
			client_id: github.clientId,
			redirect_uri: `${ORIGIN}/login/github/callback`,
			state,
			code_challenge_method: 'S256',
			code_challenge: expect.stringMatching(/^[\w-]{43}$/),
			scope: 'read:user user:email read:org'
		});
		expect(nonce).toBeNull();
	});

	it("asks for another account with prompt=select_account, GitHub's documented way to show its account picker; a plain sign-in sends no prompt", () => {
		const { config, provider } = configured(github.entry('GitHub'));
		expect(startGitHubSignIn(config, provider, { anotherAccount: true }).url.searchParams.getAll('prompt')).toEqual(['select_account']);
		expect(startGitHubSignIn(config, provider, PLAIN).url.searchParams.has('prompt')).toBe(false);
	});

	it('names the person by numeric id, profile name and primary verified address; groups are organizations and org/team, in lower case', async () => {
		expect(await signIn(GITHUB_USERS.octo.login)).toEqual({
			ok: true,
			identity: { provider: 'github', sub: 'github:583231', name: 'The Octocat', email: 'octo@acme.example', groups: ['acme', 'octo-org', 'acme/platform'] }
		});
	});

	it('without a profile name the login stands in; an unverified primary address is not kept; every page of teams is read', async () => {
		const mona = await signIn(GITHUB_USERS.mona.login);
		expect(mona.ok).toBe(true);
		if (!mona.ok) return;
		expect(mona.identity).toMatchObject({ sub: 'github:1000002', name: 'monalisa', email: null });
		expect(mona.identity.groups).toHaveLength(151);
		expect(mona.identity.groups).toEqual(expect.arrayContaining(['big', 'big/team-000', 'big/team-149']));
	});

	it('a token without read:org (GitHub answers 403 for orgs and teams) signs in with no groups; without user:email, with no address', async () => {
		expect(await signIn(GITHUB_USERS.octo.login, ['read:user', 'user:email'])).toMatchObject({
			ok: true,
			identity: { sub: 'github:583231', email: 'octo@acme.example', groups: [] }
		});
		expect(await signIn(GITHUB_USERS.octo.login, ['read:user'])).toMatchObject({ ok: true, identity: { email: null, groups: [] } });
	});

	it("a refused code (GitHub's 200 with error=bad_verification_code) fails the sign-in as refused", async () => {
		github.setFault('bad_verification_code');
		try {
			expect(await signIn(GITHUB_USERS.octo.login)).toEqual({
				ok: false,
				problem: 'refused',
				detail: 'the token endpoint refused the code (error bad_verification_code)'
			});
		} finally {
			github.setFault(null);
		}
	});

	it('an API error (rate limited) fails the sign-in; it is not taken for "no groups"', async () => {
		github.setFault('rate_limited');
		try {
			expect(await signIn(GITHUB_USERS.octo.login)).toEqual({ ok: false, problem: 'profile', detail: "GitHub's API answered 403 for /user" });
		} finally {
			github.setFault(null);
		}
	});

	it('a code used twice is refused the second time', async () => {
		const { config, provider } = configured(github.entry('GitHub'));
		const start = startGitHubSignIn(config, provider, PLAIN);
		const callback = await github.authorize(start.url, GITHUB_USERS.octo.login);
		const params = { code: callback.get('code') ?? '', codeVerifier: start.codeVerifier, nonce: null };
		expect((await completeGitHubSignIn(config, provider, params)).ok).toBe(true);
		expect(await completeGitHubSignIn(config, provider, params)).toMatchObject({ ok: false, problem: 'refused' });
	});

	it('a GitHub that cannot be reached fails the sign-in as unreachable', async () => {
		const gone = await startGitHubStandIn({ origin: ORIGIN, id: 'gone' });
		const { config, provider } = configured(gone.entry('Gone'));
		const start = startGitHubSignIn(config, provider, PLAIN);
		const callback = await gone.authorize(start.url, GITHUB_USERS.octo.login);
		await gone.close();
		expect(await completeGitHubSignIn(config, provider, { code: callback.get('code') ?? '', codeVerifier: start.codeVerifier, nonce: null })).toEqual({
			ok: false,
			problem: 'unreachable',
			detail: 'the token endpoint could not be reached (ECONNREFUSED)'
		});
	});
});
