import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT } from '../core/clients';
import { parseProvidersFile, type ProviderConfig } from '../core/providers';
import { createDeviceAuthorization, enterUserCode } from '../oauth/device-authorizations';
import { pollDeviceCode } from '../oauth/device-grant';
import { beginSignIn, completeCallback, describeFailure, failurePage, type CallbackInput } from './sign-in';
import { context, testServices, type TestServices } from '../../../../tests/support/test-services';
import { ISSUER_USERS, startTestIssuer, walkSignIn, type TestIssuer } from '../../../../tests/support/oidc-issuer.ts';
import { freePort } from '../../../../tests/support/spawned-server.ts';

/** The callback's outcome with a real issuer, on each engine: who is recorded, what a failure decides, where it lands. */

const ORIGIN = 'https://login.example.org';
const SOURCE = { ip: '192.0.2.7', browser: 'test-browser', actor: null };

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
	const begun = await beginSignIn(services, 'acme');
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
		expect(await beginSignIn(services, 'nobody')).toEqual({ ok: false, reason: 'unknown' });
		const down = { ...acme.entry('Down SSO'), id: 'down', issuer: `http://127.0.0.1:${await freePort()}` };
		services.config.providers = providersOf(acme.entry('Acme SSO'), down);
		expect(await beginSignIn(services, 'down')).toEqual({
			ok: false,
			reason: 'provider_failed',
			problem: 'unreachable',
			detail: 'the discovery document could not be read (ECONNREFUSED)'
		});
	});
});
