import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminOverview, narrowScopes, normalizeEmail, resolveOwner } from './admin';
import { testServices, type TestServices } from '../../../../tests/support/test-services';

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
			expect(await resolveOwner(services, owner, 1)).toMatchObject({ ok: false });
		}
		const overview = await adminOverview(services, { code: null, filter: '\u0000', page: null }, 1);
		expect(overview.grants).toEqual([]);
	});

	it('an email owner becomes the user email:<address>, the same one every time', async () => {
		const first = await resolveOwner(services, 'Tech@Lab.Example', 1);
		const second = await resolveOwner(services, 'email:tech@lab.example', 2);
		expect(first).toMatchObject({ ok: true, ownerSub: 'email:tech@lab.example' });
		expect(second).toEqual(first);
	});

	it('a sub names someone who has signed in; an unknown sub is refused with advice', async () => {
		await services.store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: 'Josiah Carberry', email: null }, 1);
		expect(await resolveOwner(services, 'orcid:0000-0002-1825-0097', 2)).toMatchObject({ ok: true, ownerSub: 'orcid:0000-0002-1825-0097' });
		expect(await resolveOwner(services, 'clerk:user_nobody', 2)).toEqual({
			ok: false,
			message: 'No one has signed in as clerk:user_nobody yet. Enter their email address instead.'
		});
	});
});
