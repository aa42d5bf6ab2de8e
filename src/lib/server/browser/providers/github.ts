import type { Config } from '../../core/config';
import type { GitHubProviderConfig } from '../../core/providers';
import {
	exchangeCode,
	failure,
	getJson,
	oauthClient,
	objectOf,
	startWithPkce,
	type CallbackParams,
	type SignInResult,
	type SignInStart,
	type StartOptions,
	type Upstream
} from './upstream';

/**
 * GitHub and GitHub Enterprise Server (`kind: "github"`): an OAuth app or GitHub App
 * at {base_url}/login/oauth/authorize and /login/oauth/access_token, with PKCE and
 * state; who signed in from the REST API at api_url: /user (the numeric id is the
 * subject; the name, else the login), /user/emails (the primary address, when
 * verified), /user/orgs and /user/teams (the groups: `acme` and `acme/platform`, in
 * lower case, as GitHub compares them). A token without `read:org` gets 403 from the
 * last two: that person then has no groups, which is not a failure.
 */

const API_HEADERS = { Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28', 'User-Agent': 'doorcode' };
/** Lists are read 100 entries a page, up to this many pages. */
const MAX_PAGES = 10;

/**
 * Another account is asked for with `prompt=select_account`, the one `prompt` GitHub
 * documents: it shows its account picker even to someone it would otherwise send
 * straight back.
 */
export function startGitHubSignIn(config: Config, provider: GitHubProviderConfig, { anotherAccount }: StartOptions): SignInStart {
	const prompt = anotherAccount ? 'select_account' : null;
	return startWithPkce(oauthClient(config, provider), `${provider.baseUrl}/login/oauth/authorize`, provider.scopes, { withNonce: false, prompt });
}

export async function completeGitHubSignIn(config: Config, provider: GitHubProviderConfig, { code, codeVerifier }: CallbackParams): Promise<SignInResult> {
	const exchanged = await exchangeCode(oauthClient(config, provider), `${provider.baseUrl}/login/oauth/access_token`, code, codeVerifier);
	if (!exchanged.ok) return exchanged;
	const api = new GitHubApi(provider.apiUrl, exchanged.value.access_token as string);
	const user = await api.user();
	if (!user.ok) return user;
	const [emails, orgs, teams] = await Promise.all([api.list('/user/emails'), api.list('/user/orgs'), api.list('/user/teams')]);
	for (const read of [emails, orgs, teams]) if (!read.ok) return read;
	const groups = [
		...listOf(orgs).flatMap((org) => (typeof org.login === 'string' ? [org.login] : [])),
		...listOf(teams).flatMap((team) => {
			const orgLogin = objectOf(team.organization)?.login;
			return typeof orgLogin === 'string' && typeof team.slug === 'string' ? [`${orgLogin}/${team.slug}`] : [];
		})
	];
	const primary = listOf(emails).find((entry) => entry.primary === true && entry.verified === true && typeof entry.email === 'string');
	return {
		ok: true,
		identity: {
			provider: provider.id,
			sub: `${provider.id}:${user.value.id}`,
			name: user.value.name,
			email: primary ? (primary.email as string).trim().toLowerCase() : null,
			groups: groups.map((group) => group.toLowerCase())
		}
	};
}

/** A list's entries that are objects; a list GitHub would not show (null) has none. */
function listOf(read: Upstream<Record<string, unknown>[] | null>): Record<string, unknown>[] {
	return read.ok ? (read.value ?? []) : [];
}

class GitHubApi {
	constructor(
		private readonly apiUrl: string,
		private readonly accessToken: string
	) {}

	/** /user: the numeric id, and the profile name or else the login. */
	async user(): Promise<Upstream<{ id: string; name: string }>> {
		const answer = await this.get(`${this.apiUrl}/user`);
		if (!answer.ok) return answer;
		const user = objectOf(answer.value.body);
		if (answer.value.status !== 200 || !user) return apiFailure('/user', answer.value.status);
		if (typeof user.id !== 'number' || !Number.isSafeInteger(user.id) || user.id <= 0 || typeof user.login !== 'string') {
			return failure('profile', "GitHub's /user answer has no numeric id and login");
		}
		const name = typeof user.name === 'string' && user.name.trim() ? user.name.trim() : user.login;
		return { ok: true, value: { id: String(user.id), name } };
	}

	/**
	 * Every page of a list. null when the token may not read it (403 that is not a rate
	 * limit, or 404: a token without `read:org` or `user:email`); other errors fail.
	 */
	async list(path: string): Promise<Upstream<Record<string, unknown>[] | null>> {
		const entries: Record<string, unknown>[] = [];
		let url: string | null = `${this.apiUrl}${path}?per_page=100`;
		for (let page = 0; url && page < MAX_PAGES; page++) {
			const answer = await this.get(url);
			if (!answer.ok) return answer;
			const { status, headers, body } = answer.value;
			const rateLimited = headers.get('x-ratelimit-remaining') === '0' || status === 429;
			if ((status === 403 && !rateLimited) || status === 404) return { ok: true, value: null };
			if (status !== 200 || !Array.isArray(body)) return apiFailure(path, status);
			entries.push(...body.filter((entry): entry is Record<string, unknown> => objectOf(entry) !== null));
			url = this.nextPage(headers.get('link'));
		}
		return { ok: true, value: entries };
	}

	private get(url: string) {
		return getJson(url, { ...API_HEADERS, Authorization: `Bearer ${this.accessToken}` }, `GitHub's API`);
	}

	/** The Link header's rel="next", only below api_url: the token goes nowhere else. */
	private nextPage(link: string | null): string | null {
		const next = link?.split(',').find((part) => /;\s*rel="next"/.test(part));
		const url = next ? /<([^>]+)>/.exec(next)?.[1] : undefined;
		return url && url.startsWith(`${this.apiUrl}/`) ? url : null;
	}
}

function apiFailure(path: string, status: number) {
	return failure(status >= 500 ? 'unreachable' : 'profile', `GitHub's API answered ${status} for ${path}`);
}
