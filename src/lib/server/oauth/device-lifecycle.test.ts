import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT } from '../core/clients';
import { hashSecret } from '../core/crypto';
import {
	approveDeviceAuthorization,
	createDeviceAuthorization,
	denyAfterProviderRefusal,
	denyDeviceAuthorization,
	enterUserCode,
	resolveDeviceLogin,
	revokeApproval
} from './device-authorizations';
import { pollDeviceCode } from './device-grant';
import { sweep } from '../ops/sweeper';
import { actor, context, testServices, type TestServices } from '../../../../tests/support/test-services';
import { normalizeUserCode } from './user-code';

let services: TestServices;
const T0 = 1_800_000_000_000;
const SOURCE = { ip: '192.0.2.7', browser: 'test-browser', actor: null };

beforeEach(async () => {
	services = await testServices();
});
afterEach(() => services.dispose());

async function newCode(now = T0) {
	const result = await createDeviceAuthorization(services, DEMO_CLIENT, undefined, null, context(now));
	expect(result.status).toBe(200);
	const body = result.body as { device_code: string; user_code: string };
	return { deviceCode: body.device_code, userCode: normalizeUserCode(body.user_code) as string };
}

const josiah = (now = T0) => services.store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: 'Josiah Carberry', email: null }, now);
const laure = (now = T0) => services.store.upsertUser({ sub: 'orcid:0000-0001-5109-3700', provider: 'orcid', name: 'Laure Haak', email: null }, now);

async function approve(userCode: string, now: number) {
	const owner = await josiah(now);
	return approveDeviceAuthorization(services, actor(owner), { userCode, ownerId: owner.id, ownerSub: owner.sub, grantedScope: 'read write', label: null }, now);
}

const pollAt = (deviceCode: string, now: number) => pollDeviceCode(services, DEMO_CLIENT, deviceCode, null, context(now));
const answerAt = async (deviceCode: string, now: number) => (await pollAt(deviceCode, now)).body as { error?: string; error_description?: string };

/** A code made straight through the store, for rows a test needs in bulk or at a given age. */
function storedCode(userCode: string, expiresAt: number) {
	return services.store.insertDeviceAuthorization(
		{
			deviceCodeHash: hashSecret(`device-code-${userCode}`),
			userCode,
			clientId: 'demo-cli',
			scope: 'read',
			createdAt: 0,
			expiresAt,
			intervalSeconds: 5,
			requesterIp: null,
			requesterNetwork: null,
			requesterUserAgent: null,
			dpopJkt: null
		},
		[]
	);
}

describe('device authorization lifecycle', () => {
	it('pending → approved → consumed: tokens are issued exactly once', async () => {
		const { deviceCode, userCode } = await newCode();
		expect((await answerAt(deviceCode, T0 + 5_000)).error).toBe('authorization_pending');
		expect((await approve(userCode, T0 + 6_000)).ok).toBe(true);
		const issued = await pollAt(deviceCode, T0 + 10_000);
		expect(issued.status).toBe(200);
		expect(issued.body).toMatchObject({ token_type: 'Bearer', scope: 'read write', expires_in: 3600, sub: 'orcid:0000-0002-1825-0097' });
		expect(await answerAt(deviceCode, T0 + 20_000)).toEqual({
			error: 'invalid_grant',
			error_description: 'The device code was already used; the tokens issued from it are now revoked.'
		});
		// The replay revoked the grant: the audit log says so, and why.
		expect((await services.store.listAudit(1, 0))[0]).toMatchObject({
			action: 'grant.revoked_replayed_device_code',
			clientId: 'demo-cli',
			detail: expect.stringMatching(/^grant \d+: its device code was presented again after it was redeemed, so it leaked$/)
		});
	});

	it('the stage is named: waiting for the code, then waiting for approval', async () => {
		const { deviceCode, userCode } = await newCode();
		expect((await answerAt(deviceCode, T0)).error_description).toBe('Waiting for the code to be entered in a browser.');
		expect((await enterUserCode(services, userCode.toLowerCase(), SOURCE, T0 + 1_000)).ok).toBe(true);
		expect((await answerAt(deviceCode, T0 + 5_000)).error_description).toBe('Waiting for approval in the browser.');
	});

	it('pending → denied: the next poll answers access_denied, not a wait until expiry', async () => {
		const { deviceCode, userCode } = await newCode();
		expect((await denyDeviceAuthorization(services, actor(await laure()), userCode, 'user', T0 + 1_000)).ok).toBe(true);
		expect(await answerAt(deviceCode, T0 + 5_000)).toEqual({ error: 'access_denied', error_description: 'The request was denied in the browser.' });
	});

	it('only one decision wins: a denied code cannot be approved, an approved one cannot be denied', async () => {
		const first = await newCode();
		expect((await denyDeviceAuthorization(services, actor(await laure()), first.userCode, 'user', T0)).ok).toBe(true);
		expect((await approve(first.userCode, T0)).ok).toBe(false);
		const second = await newCode();
		expect((await approve(second.userCode, T0)).ok).toBe(true);
		expect((await denyDeviceAuthorization(services, actor(await laure()), second.userCode, 'user', T0)).ok).toBe(false);
	});

	it('after expires_in the poll answers expired_token and the code can no longer be entered or approved', async () => {
		const { deviceCode, userCode } = await newCode();
		const later = T0 + 600_000;
		expect(await enterUserCode(services, userCode, SOURCE, later)).toEqual({ ok: false, reason: 'invalid' });
		expect((await approve(userCode, later)).ok).toBe(false);
		expect(await answerAt(deviceCode, later)).toEqual({
			error: 'expired_token',
			error_description: 'The device code has expired. Start the login again to get a new code.'
		});
	});

	it('polling before the interval answers slow_down, adds 5 s, and does not restart the clock', async () => {
		const { deviceCode } = await newCode();
		expect((await answerAt(deviceCode, T0)).error).toBe('authorization_pending');
		expect(await answerAt(deviceCode, T0 + 4_000)).toEqual({ error: 'slow_down', error_description: 'Polling too fast: wait 10 seconds between requests.' });
		// The interval is now 10 s from the last poll that was answered (T0).
		expect(await answerAt(deviceCode, T0 + 9_000)).toEqual({ error: 'slow_down', error_description: 'Polling too fast: wait 15 seconds between requests.' });
		expect((await answerAt(deviceCode, T0 + 15_000)).error).toBe('authorization_pending');
		expect((await answerAt(deviceCode, T0 + 29_000)).error).toBe('slow_down');
		expect((await answerAt(deviceCode, T0 + 35_000)).error).toBe('authorization_pending');
	});

	it('a device code of another client answers invalid_grant', async () => {
		const { deviceCode } = await newCode();
		const other = { ...DEMO_CLIENT, id: 'other-cli' };
		expect((await pollDeviceCode(services, other, deviceCode, null, context(T0))).body).toEqual({
			error: 'invalid_grant',
			error_description: 'The device code is unknown or was issued to another client.'
		});
	});

	it('the database holds no device code or token, only their hashes', async () => {
		const { deviceCode, userCode } = await newCode();
		await approve(userCode, T0);
		const tokens = (await pollAt(deviceCode, T0 + 5_000)).body as { access_token: string; refresh_token: string };
		const stored = await services.storedText();
		expect(stored).toContain(userCode);
		for (const secret of [deviceCode, tokens.access_token, tokens.refresh_token]) {
			expect(stored).not.toContain(secret);
			expect(stored).not.toContain(Buffer.from(secret).toString('hex'));
		}
	});
});

describe('side doors: every way of naming a code counts, and only the right browser decides', () => {
	const auditActions = async () => (await services.store.listAudit(100, 0)).map((row) => row.action);

	it('a device-login handle names only the code whose entry passed the limits', async () => {
		const { userCode } = await newCode();
		const entry = await enterUserCode(services, userCode, SOURCE, T0 + 1_000);
		expect(entry.ok).toBe(true);
		if (!entry.ok) return;
		expect(entry.handle).not.toContain(userCode);
		expect(await resolveDeviceLogin(services, entry.handle, SOURCE, T0 + 2_000)).toEqual({ ok: true, userCode });
	});

	it('a forged handle is refused, audited and counted as a wrong code: after five, even a real one waits', async () => {
		const { userCode } = await newCode();
		const entry = await enterUserCode(services, userCode, SOURCE, T0);
		for (let i = 0; i < 4; i++) {
			expect(await resolveDeviceLogin(services, `forged-handle-${i}`.padEnd(43, 'x'), SOURCE, T0 + 1_000)).toEqual({ ok: false, reason: 'invalid' });
		}
		expect(await resolveDeviceLogin(services, 'forged-handle-5'.padEnd(43, 'x'), SOURCE, T0 + 1_000)).toEqual({ ok: false, reason: 'limited', retryAfter: 60 });
		expect(entry.ok && (await resolveDeviceLogin(services, entry.handle, SOURCE, T0 + 2_000))).toEqual({ ok: false, reason: 'limited', retryAfter: 59 });
		expect((await auditActions()).filter((action) => action === 'device.code_refused')).toHaveLength(5);
		expect(await auditActions()).toContain('ratelimit.refused');
	});

	it('a wrong code typed at /device reaches the audit log with the address it came from', async () => {
		expect(await enterUserCode(services, 'BCDF-GHJK', SOURCE, T0)).toEqual({ ok: false, reason: 'invalid' });
		expect((await services.store.listAudit(1, 0))[0]).toMatchObject({ action: 'device.code_refused', userCode: 'BCDFGHJK', ip: '192.0.2.7' });
	});

	it('a provider refusal denies a code no one has claimed, but never one another person is confirming', async () => {
		const unclaimed = await newCode();
		expect((await denyAfterProviderRefusal(services, unclaimed.userCode, 'provider_denied', null, '192.0.2.9', T0)).ok).toBe(true);

		const claimed = await newCode();
		expect(await services.store.claimDeviceAuthorization(claimed.userCode, (await josiah()).id, T0)).toBeDefined();
		expect((await denyAfterProviderRefusal(services, claimed.userCode, 'provider_denied', null, '192.0.2.9', T0)).ok).toBe(false);
		expect((await denyAfterProviderRefusal(services, claimed.userCode, 'provider_denied', (await laure()).id, '192.0.2.9', T0)).ok).toBe(false);
		expect((await denyAfterProviderRefusal(services, claimed.userCode, 'provider_failed', (await josiah()).id, '192.0.2.9', T0)).ok).toBe(true);
	});

	it('an approval can be revoked before its CLI collects the tokens: the poll answers access_denied', async () => {
		const { deviceCode, userCode } = await newCode();
		expect((await approve(userCode, T0)).ok).toBe(true);
		const [approval] = await services.store.listUncollectedApprovals((await josiah()).id, T0 + 1_000);
		expect(approval).toMatchObject({ userCode, ownerSub: 'orcid:0000-0002-1825-0097' });
		expect(await revokeApproval(services, actor(await laure()), approval.id, (await laure()).id, T0 + 1_000)).toEqual({ outcome: 'gone' });
		expect(await revokeApproval(services, actor(await josiah()), approval.id, (await josiah()).id, T0 + 1_000)).toEqual({ outcome: 'revoked' });
		expect(await answerAt(deviceCode, T0 + 5_000)).toEqual({
			error: 'access_denied',
			error_description: 'The approval was revoked before the device collected its tokens.'
		});
		expect(await services.store.listUncollectedApprovals(null, T0 + 6_000)).toEqual([]);
		expect(await auditActions()).toContain('device.approval_revoked');
	});

	it('an approval its CLI collected meanwhile is not "already revoked": the answer names the live grant to revoke', async () => {
		const { deviceCode, userCode } = await newCode();
		expect((await approve(userCode, T0)).ok).toBe(true);
		const [approval] = await services.store.listUncollectedApprovals((await josiah()).id, T0 + 1_000);
		expect((await pollAt(deviceCode, T0 + 5_000)).status).toBe(200);
		const revocation = await revokeApproval(services, actor(await josiah()), approval.id, (await josiah()).id, T0 + 6_000);
		expect(revocation).toEqual({ outcome: 'collected', grantId: expect.any(Number) });
		const grants = await services.store.listActiveGrants((await josiah()).id, 'device', T0 + 6_000);
		expect(grants.map((grant) => grant.id)).toEqual([(revocation as { grantId: number }).grantId]);
		// Someone else's approval names nothing.
		expect(await revokeApproval(services, actor(await laure()), approval.id, (await laure()).id, T0 + 6_000)).toEqual({ outcome: 'gone' });
	});
});

describe('sweeping', () => {
	it('deletes expired authorizations of every status in batches and keeps live ones', async () => {
		// A hundred at a time: PostgreSQL commits them on several connections at once.
		for (let i = 0; i < 2_500; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => storedCode(`X${String(i + j).padStart(7, '0')}`, T0 - 1)));
		const denied = await newCode(T0 - 600_000);
		await denyDeviceAuthorization(services, actor(await laure()), denied.userCode, 'user', T0 - 500_000);
		const consumed = await newCode(T0 - 600_000);
		await approve(consumed.userCode, T0 - 500_000);
		await pollAt(consumed.deviceCode, T0 - 400_000);
		const live = await newCode(T0 + 1_000_000);

		const report = await sweep(services, T0 + 1_000, { restFactor: 1, minRestMs: 0 });
		expect(report.deviceAuthorizations).toBe(2_502);
		expect((await services.store.findLiveDeviceAuthorization(live.userCode, T0 + 1_000))?.userCode).toBe(live.userCode);
		expect(await answerAt(denied.deviceCode, T0 + 2_000)).toEqual({
			error: 'invalid_grant',
			error_description: 'The device code is unknown or was issued to another client.'
		});
		expect(await services.store.deleteExpiredDeviceAuthorizations(T0 + 1_000, 100)).toBe(0);
	});

	it('never deletes a live code when older codes outlive newer ones (DEVICE_CODE_TTL lowered), and catches up once they expire', async () => {
		for (let i = 0; i < 150; i++) await storedCode(`L${String(i).padStart(7, '0')}`, T0 + 86_400_000);
		for (let i = 0; i < 300; i++) await storedCode(`E${String(i).padStart(7, '0')}`, T0 - 1);
		const pace = { restFactor: 1, minRestMs: 0 };

		const early = await sweep(services, T0, pace);
		for (let i = 0; i < 150; i++) expect(await services.store.findLiveDeviceAuthorization(`L${String(i).padStart(7, '0')}`, T0)).toBeDefined();

		const late = await sweep(services, T0 + 86_400_000, pace);
		expect(early.deviceAuthorizations + late.deviceAuthorizations).toBe(450);
		expect(await services.store.deleteExpiredDeviceAuthorizations(T0 + 86_400_001, 1_000)).toBe(0);
	});
});
