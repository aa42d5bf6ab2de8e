import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminOverview, approveOnBehalf, narrowScopes, normalizeEmail, resolveOwner } from './admin';
import { DEMO_CLIENT, type Client } from '../core/clients';
import { createDeviceAuthorization } from '../oauth/device-authorizations';
import { actor, context, testServices, type TestServices } from '../../../../tests/support/test-services';

describe('scope narrowing', () => {
	it('never grants a scope that was not requested or that the client may not have', () => {
		const scope = fc.constantFrom('read', 'write', 'admin', 'openid', 'delete');
		fc.assert(
			fc.property(fc.uniqueArray(scope), fc.uniqueArray(scope), fc.array(scope), (requested, clientScopes, chosen) => {
				const granted = narrowScopes(requested, clientScopes, chosen);
				for (const s of granted) {
					expect(requested).toContain(s);
					expect(clientScopes).toContain(s);
					expect(chosen).toContain(s);
				}
				expect(granted.length).toBeLessThanOrEqual(requested.length);
			})
		);
	});

	it('keeps exactly the chosen subset of the request', () => {
		expect(narrowScopes(['read', 'write'], ['read', 'write'], ['read'])).toEqual(['read']);
		expect(narrowScopes(['read'], ['read', 'write'], ['read', 'write'])).toEqual(['read']);
	});
});

describe('owners', () => {
	let services: TestServices;
	beforeEach(async () => {
		services = await testServices();
	});
	afterEach(() => services.dispose());

	it('an owner email is trimmed and lower-cased; non-addresses are refused', () => {
		expect(normalizeEmail('  Tech@Lab.Example ')).toBe('tech@lab.example');
		for (const bad of ['', 'tech', 'tech@', '@lab.example', 'a b@lab.example', 'tech@lab', '<x>@lab.example']) expect(normalizeEmail(bad)).toBeNull();
	});

	it('control characters (a NUL) in an owner or a filter are refused or dropped, never sent to the database', async () => {
		for (const owner of ['a\u0000b@lab.example', 'orcid:0000\u0000', 'tech@lab.example\u0007']) {
			expect(await resolveOwner(services, owner, 'demo-cli', 1)).toMatchObject({ ok: false });
		}
		const overview = await adminOverview(services, { code: null, filter: '\u0000', page: null }, 1);
		expect(overview.grants).toEqual([]);
	});

	it('an email owner becomes the user email:<address>, the same one every time', async () => {
		const first = await resolveOwner(services, 'Tech@Lab.Example', 'demo-cli', 1);
		const second = await resolveOwner(services, 'email:tech@lab.example', 'demo-cli', 2);
		expect(first).toMatchObject({ ok: true, ownerSub: 'email:tech@lab.example' });
		expect(second).toEqual(first);
	});

	it('a sub names someone who has signed in, with any provider; an unknown sub is refused with advice', async () => {
		await services.store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: 'Josiah Carberry', email: null }, 1);
		expect(await resolveOwner(services, 'orcid:0000-0002-1825-0097', 'demo-cli', 2)).toMatchObject({ ok: true, ownerSub: 'orcid:0000-0002-1825-0097' });
		await services.store.upsertUser({ sub: 'github:583231', provider: 'github', name: 'The Octocat', email: null }, 1);
		expect(await resolveOwner(services, 'github:583231', 'demo-cli', 2)).toMatchObject({ ok: true, ownerSub: 'github:583231' });
		expect(await resolveOwner(services, 'not a sub', 'demo-cli', 2)).toMatchObject({
			ok: false,
			message: expect.stringContaining('Enter the owner as an email address')
		});
		expect(await resolveOwner(services, 'clerk:user_nobody', 'demo-cli', 2)).toEqual({
			ok: false,
			message: 'No one has signed in as clerk:user_nobody yet. Enter their email address instead.'
		});
	});
});

describe("owners and the client's allow", () => {
	const T0 = 1_800_000_000_000;
	const CLERK_LAB: Client = {
		id: 'clerk-lab',
		name: 'Clerk lab',
		type: 'public',
		scopes: ['read'],
		allow: { providers: ['clerk'], emailDomains: ['lab.example'] }
	};
	const PLATFORM: Client = { id: 'platform-cli', name: 'Platform CLI', type: 'public', scopes: ['read'], allow: { groups: ['acme/platform'] } };
	let services: TestServices;
	beforeEach(async () => {
		services = await testServices({ clients: [DEMO_CLIENT, CLERK_LAB, PLATFORM] });
	});
	afterEach(() => services.dispose());

	const admin = () => services.store.upsertUser({ sub: 'orcid:0000-0001-5109-3700', provider: 'orcid', name: 'Laure Haak', email: null }, T0);
	async function onBehalf(client: Client, owner: string) {
		const code = (await createDeviceAuthorization(services, client, undefined, null, context(T0))).body as { user_code: string };
		return approveOnBehalf(services, actor(await admin()), { userCode: code.user_code, owner, label: '', scopes: ['read'] }, T0 + 1_000);
	}

	it('an address is checked by its domain (its provider cannot be known yet), and a refused one is not stored as a person', async () => {
		expect(await onBehalf(CLERK_LAB, 'tech@lab.example')).toMatchObject({ ok: true });
		expect(await onBehalf(CLERK_LAB, 'tech@other.example')).toEqual({
			ok: false,
			message:
				"tech@other.example cannot own a login to Clerk lab. Only people with a verified email address at lab.example may approve for this application. This account's verified email address is at other.example."
		});
		expect(await services.store.findUserBySub('email:tech@other.example')).toBeUndefined();
	});

	it('someone who signed in is checked by the whole rule: provider, address and groups as of their last sign-in', async () => {
		await services.store.upsertUser({ sub: 'clerk:user_2demoAlice0000000000000', provider: 'clerk', name: 'Alice', email: 'alice@lab.example' }, T0);
		await services.store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: 'Josiah', email: null }, T0);
		expect(await onBehalf(CLERK_LAB, 'clerk:user_2demoAlice0000000000000')).toMatchObject({ ok: true });
		expect(await onBehalf(CLERK_LAB, 'orcid:0000-0002-1825-0097')).toEqual({
			ok: false,
			message:
				'orcid:0000-0002-1825-0097 cannot own a login to Clerk lab. Only accounts from Clerk may approve for this application; this account is from ORCID.'
		});
	});

	it('a rule by group cannot be met by an address: the admin is told, and the code stays pending', async () => {
		const refused = await onBehalf(PLATFORM, 'tech@lab.example');
		expect(refused).toEqual({
			ok: false,
			message:
				'tech@lab.example cannot own a login to Platform CLI. Only members of acme/platform may approve for this application. Its groups cannot be known before it signs in.'
		});
		expect(await services.store.listPendingAuthorizations(T0 + 2_000, 10)).toHaveLength(1);
	});
});
