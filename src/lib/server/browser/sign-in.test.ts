import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT } from '../core/clients';
import { BUILT_IN_PROVIDERS, parseProvidersFile, type ProviderConfig } from '../core/providers';
import { createDeviceAuthorization, enterUserCode } from '../oauth/device-authorizations';
import { pollDeviceCode } from '../oauth/device-grant';
import {
	anotherAccountLogin,
	beginSignIn,
	completeCallback,
	describeFailure,
	failurePage,
	signInStartPath,
	startOptionsOf,
	type CallbackInput
} from './sign-in';
import { context, testServices, type TestServices } from '../../../../tests/support/test-services';
import { ISSUER_USERS, startTestIssuer, walkSignIn, type TestIssuer } from '../../../../tests/support/oidc-issuer.ts';
import { freePort } from '../../../../tests/support/spawned-server.ts';

/** The callback's outcome with a real issuer, on each engine: who is recorded, what a failure decides, where it lands. */

const ORIGIN = 'https://login.example.org';
const SOURCE = { ip: '192.0.2.7', browser: 'test-browser', actor: null };
const PLAIN = { anotherAccount: false };

let acme: TestIssuer;
let services: TestServices;

function providersOf(...entries: Record<string, unknown>[]): ProviderConfig[] {
	const parsed = parseProvidersFile(JSON.stringify({ providers: entries }), {});
	if (!parsed.ok) throw new Error(parsed.error);
	return parsed.providers;
}

beforeAll(async () => {
	acme = await startTestIssuer({ origin: ORIGIN, id: 'acme' });
});
afterAll(() => acme?.close());

beforeEach(async () => {
	services = await testServices({ providers: providersOf(acme.entry('Acme SSO')) });
});
afterEach(() => services.dispose());

/** A sign-in begun at Acme SSO and walked through its page as `sub`: the callback's input, as the route builds it. */
async function callbackFrom(sub: string, deviceLogin: CallbackInput['deviceLogin'] = null): Promise<CallbackInput> {
	const begun = await beginSignIn(services, 'acme', PLAIN);
	if (!begun.ok) throw new Error('the sign-in did not begin');
	const query = await walkSignIn(begun.url, ORIGIN, sub);
	return { providerId: 'acme', query, started: begun.secrets, deviceLogin, signedInUserId: null, now: Date.now() };
}

async function deviceLogin() {
	const created = await createDeviceAuthorization(services, DEMO_CLIENT, undefined, null, context(Date.now()));
	const { device_code: deviceCode, user_code: userCode } = created.body as { device_code: string; user_code: string };
	const entry = await enterUserCode(services, userCode, SOURCE, Date.now());
	if (!entry.ok) throw new Error('the code was not entered');
	return { deviceCode, login: { handle: entry.handle, source: SOURCE } };
}

describe('signing in at a PROVIDERS_FILE provider', () => {
	it('records the person as the issuer describes them (sub, name, verified address, groups) and opens a session', async () => {
		const outcome = await completeCallback(services, await callbackFrom(ISSUER_USERS.ada.sub));
		expect(outcome.ok).toBe(true);
		expect(await services.store.findUserBySub('acme:ada-0001')).toMatchObject({
			provider: 'acme',
			name: 'Ada Lovelace',
			email: 'ada@acme.example',
			groups: ['acme/admins', 'acme/platform']
		});
	});

	it('a callback that names another provider than the one this browser started is a state failure, and decides nothing', async () => {
		const { deviceCode, login } = await deviceLogin();
		const input = { ...(await callbackFrom(ISSUER_USERS.ada.sub, login)), providerId: 'github' };
		expect(await completeCallback(services, input)).toMatchObject({ ok: false, reason: 'state', problem: null });
		expect((await pollDeviceCode(services, DEMO_CLIENT, deviceCode, null, context(Date.now() + 10_000))).body).toMatchObject({
			error: 'authorization_pending'
		});
	});

	it('an ID token that fails validation during a device login denies that code, and the page says what happened', async () => {
		const { deviceCode, login } = await deviceLogin();
		acme.setFault('audience');
		let outcome;
		try {
			outcome = await completeCallback(services, await callbackFrom(ISSUER_USERS.ada.sub, login));
		} finally {
			acme.setFault(null);
		}
		expect(outcome).toMatchObject({ ok: false, reason: 'provider_failed', problem: 'invalid_token' });
		if (outcome.ok) return;
		expect(await services.store.findUserBySub('acme:ada-0001')).toBeUndefined();
		expect((await pollDeviceCode(services, DEMO_CLIENT, deviceCode, null, context(Date.now() + 10_000))).body).toEqual({
			error: 'access_denied',
			error_description: 'The sign-in at the identity provider failed.'
		});
		const page = failurePage('acme', outcome, true);
		expect(page).toBe('/device/error?reason=provider_failed&provider=acme&problem=invalid_token');
		expect(describeFailure(services.config, new URL(page, ORIGIN).searchParams)).toBe("Acme SSO's answer could not be verified, so doorcode did not trust it.");
		expect(failurePage('acme', outcome, false)).toBe('/login?error=provider_failed&provider=acme&problem=invalid_token');
	});

	it('the words on a failure page come from a fixed list: an unknown provider or problem adds none', () => {
		const words = (query: string) => describeFailure(services.config, new URLSearchParams(query));
		expect(words('provider=acme&problem=unreachable')).toBe('Acme SSO cannot be reached right now.');
		expect(words('provider=evil&problem=unreachable')).toBeNull();
		expect(words('provider=acme&problem=Your+account+is+locked')).toBeNull();
		expect(words('provider=acme&problem=toString')).toBeNull();
	});

	it('an unknown provider has no sign-in; an issuer that cannot be reached fails it before the browser leaves', async () => {
		expect(await beginSignIn(services, 'nobody', PLAIN)).toEqual({ ok: false, reason: 'unknown' });
		const down = { ...acme.entry('Down SSO'), id: 'down', issuer: `http://127.0.0.1:${await freePort()}` };
		services.config.providers = providersOf(acme.entry('Acme SSO'), down);
		expect(await beginSignIn(services, 'down', PLAIN)).toEqual({
			ok: false,
			reason: 'provider_failed',
			problem: 'unreachable',
			detail: 'the discovery document could not be read (ECONNREFUSED)'
		});
	});
});

describe('signing in with another account', () => {
	const builtIn = (kind: 'orcid' | 'clerk'): ProviderConfig => ({
		...BUILT_IN_PROVIDERS[kind],
		scopes: [...BUILT_IN_PROVIDERS[kind].scopes],
		clientId: `${kind}-client`,
		clientSecret: `${kind}-secret`,
		baseUrl: `https://${kind}.example`
	});
	const github = { id: 'github', kind: 'github', name: 'GitHub', client_id: 'Iv1.abc', client_secret: 'github-secret' };

	it('each kind asks its provider to let the person choose: prompt=login at OpenID issuers, ORCID and Clerk, prompt=select_account at GitHub', async () => {
		services.config.providers = [builtIn('orcid'), builtIn('clerk'), ...providersOf(acme.entry('Acme SSO'), github)];
		const promptsAt = async (options: { anotherAccount: boolean }) => {
			const prompts: Record<string, string[]> = {};
			for (const id of ['orcid', 'clerk', 'acme', 'github']) {
				const begun = await beginSignIn(services, id, options);
				if (!begun.ok) throw new Error(`the sign-in at ${id} did not begin`);
				prompts[id] = begun.url.searchParams.getAll('prompt');
			}
			return prompts;
		};
		expect(await promptsAt({ anotherAccount: true })).toEqual({ orcid: ['login'], clerk: ['login'], acme: ['login'], github: ['select_account'] });
		expect(await promptsAt(PLAIN)).toEqual({ orcid: [], clerk: [], acme: [], github: [] });
	});

	it('"Sign in with another account" leads to /login with the flag, and /login carries it to each provider\'s start', () => {
		const login = new URL(anotherAccountLogin('/device/confirm'), ORIGIN);
		expect(`${login.pathname}${login.search}`).toBe('/login?return_to=%2Fdevice%2Fconfirm&another_account=1');
		const options = startOptionsOf(login.searchParams);
		expect(options).toEqual({ anotherAccount: true });
		expect(signInStartPath('acme', '/device/confirm', options)).toBe('/login/acme?return_to=%2Fdevice%2Fconfirm&another_account=1');
		expect(signInStartPath('acme', '/device/confirm', PLAIN)).toBe('/login/acme?return_to=%2Fdevice%2Fconfirm');
	});

	it('only another_account=1 asks for another account, and a prompt in the query never reaches the provider', async () => {
		expect(startOptionsOf(new URLSearchParams('another_account=true'))).toEqual(PLAIN);
		expect(startOptionsOf(new URLSearchParams('return_to=%2Faccount'))).toEqual(PLAIN);
		const options = startOptionsOf(new URLSearchParams('another_account=1&prompt=none'));
		const begun = await beginSignIn(services, 'acme', options);
		expect(begun.ok && begun.url.searchParams.getAll('prompt')).toEqual(['login']);
	});
});
