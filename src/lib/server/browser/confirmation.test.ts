import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT, type Client } from '../core/clients';
import { createDeviceAuthorization, denyDeviceAuthorization } from '../oauth/device-authorizations';
import { pollDeviceCode } from '../oauth/device-grant';
import { normalizeUserCode } from '../oauth/user-code';
import { actor, context, testServices, type TestServices } from '../../../../tests/support/test-services';
import { approveOwnDevice, openConfirmation } from './confirmation';
import type { SessionUser } from './sessions';

const T0 = 1_800_000_000_000;
/** Only people at lab.example (Clerk vouches for their addresses) may approve for it. */
const LAB_CLI: Client = { id: 'lab-cli', name: 'Lab CLI', type: 'public', scopes: ['read'], allow: { emailDomains: ['lab.example'] } };
const REFUSAL = 'Only people with a verified email address at lab.example may approve for this application. This account has no verified email address.';

let services: TestServices;
beforeEach(async () => {
	services = await testServices({ clients: [DEMO_CLIENT, LAB_CLI] });
});
afterEach(() => services.dispose());

async function signedIn(sub: string, provider: string, email: string | null, groups: string[] = []): Promise<SessionUser> {
	const row = await services.store.upsertUser({ sub, provider, name: null, email, groups }, T0);
	return { ...row, isAdmin: false };
}
const josiah = () => signedIn('orcid:0000-0002-1825-0097', 'orcid', null);
const alice = () => signedIn('clerk:user_2demoAlice0000000000000', 'clerk', 'alice@lab.example');

async function newCode(client: Client) {
	const body = (await createDeviceAuthorization(services, client, undefined, null, context(T0))).body as { device_code: string; user_code: string };
	return { deviceCode: body.device_code, userCode: normalizeUserCode(body.user_code) as string };
}

const open = (userCode: string, user: SessionUser, recordRefusal = true) =>
	openConfirmation(services, userCode, user, actor(user), T0 + 1_000, { recordRefusal });
const refusals = async () => (await services.store.listAudit(100, 0)).filter((row) => row.action === 'device.approve_refused');
const stillPending = async (userCode: string) => (await services.store.findLiveDeviceAuthorization(userCode, T0 + 2_000))?.status;

describe("a client's allow at /device/confirm", () => {
	it('someone the rule refuses sees why, claims nothing, and someone it admits can still confirm and approve', async () => {
		const code = await newCode(LAB_CLI);
		const outsider = await josiah();
		const opened = await open(code.userCode, outsider);
		expect(opened).toMatchObject({ ok: true, view: { clientName: 'Lab CLI', sub: outsider.sub, refusal: REFUSAL } });

		const insider = await alice();
		expect(await open(code.userCode, insider)).toMatchObject({ ok: true, view: { refusal: null } });
		expect(await approveOwnDevice(services, insider, actor(insider), code.userCode, T0 + 2_000)).toMatchObject({ ok: true });
		const answer = await pollDeviceCode(services, LAB_CLI, code.deviceCode, null, context(T0 + 3_000));
		expect(answer.status).toBe(200);
	});

	it('a forged Approve by someone the rule refuses changes nothing: the code stays pending and unclaimed, and the refusal is audited', async () => {
		const code = await newCode(LAB_CLI);
		const outsider = await josiah();
		expect(await approveOwnDevice(services, outsider, actor(outsider), code.userCode, T0 + 1_000)).toEqual({ ok: false, refusal: REFUSAL });
		expect(await stillPending(code.userCode)).toBe('pending');
		expect((await pollDeviceCode(services, LAB_CLI, code.deviceCode, null, context(T0 + 1_500))).body).toMatchObject({ error: 'authorization_pending' });
		expect(await refusals()).toEqual([
			expect.objectContaining({
				actor: outsider.sub,
				userCode: code.userCode,
				clientId: 'lab-cli',
				ip: '192.0.2.8',
				detail: `Approve was sent anyway. ${REFUSAL}`
			})
		]);
		// Unclaimed: the first person the rule admits claims it as before.
		const insider = await alice();
		expect(await open(code.userCode, insider)).toMatchObject({ ok: true, view: { refusal: null } });
	});

	it('each refused opening writes one audit entry; the page shown again after a refused Approve writes none of its own', async () => {
		const code = await newCode(LAB_CLI);
		const outsider = await josiah();
		await open(code.userCode, outsider);
		expect(await refusals()).toEqual([expect.objectContaining({ actor: outsider.sub, userCode: code.userCode, detail: REFUSAL })]);
		await open(code.userCode, outsider, false);
		expect(await refusals()).toHaveLength(1);
	});

	it('someone the rule refuses may still deny: a person who did not start this can always refuse it', async () => {
		const code = await newCode(LAB_CLI);
		const outsider = await josiah();
		await open(code.userCode, outsider);
		expect(await denyDeviceAuthorization(services, actor(outsider), code.userCode, 'user', T0 + 1_500)).toMatchObject({ ok: true });
		expect((await pollDeviceCode(services, LAB_CLI, code.deviceCode, null, context(T0 + 2_000))).body).toMatchObject({ error: 'access_denied' });
	});

	it('a client without allow lets anyone who signed in claim and approve, as before', async () => {
		const code = await newCode(DEMO_CLIENT);
		const person = await josiah();
		expect(await open(code.userCode, person)).toMatchObject({ ok: true, view: { refusal: null } });
		expect(await open(code.userCode, await alice())).toEqual({ ok: false, reason: 'claimed' });
		expect(await approveOwnDevice(services, person, actor(person), code.userCode, T0 + 2_000)).toMatchObject({ ok: true });
		expect(await refusals()).toEqual([]);
	});

	it('groups count as the provider said at the last sign-in: a member is admitted, and no longer once a sign-in says otherwise', async () => {
		const platformOnly: Client = { ...LAB_CLI, id: 'platform-cli', allow: { groups: ['acme/platform'] } };
		await services.dispose();
		services = await testServices({ clients: [platformOnly] });
		const member = await signedIn('acme:ada', 'acme', null, ['acme/platform']);
		const first = await newCode(platformOnly);
		expect(await open(first.userCode, member)).toMatchObject({ ok: true, view: { refusal: null } });
		const moved = await signedIn('acme:ada', 'acme', null, ['acme/research']);
		const second = await newCode(platformOnly);
		expect(await approveOwnDevice(services, moved, actor(moved), second.userCode, T0 + 1_000)).toEqual({
			ok: false,
			refusal: 'Only members of acme/platform may approve for this application. It is in none of those groups.'
		});
	});
});
