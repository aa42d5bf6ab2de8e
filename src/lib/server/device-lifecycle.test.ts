import { readFileSync, statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT } from './clients';
import {
	approveDeviceAuthorization,
	claimForConfirmation,
	createDeviceAuthorization,
	denyAfterProviderRefusal,
	denyDeviceAuthorization,
	enterUserCode,
	resolveDeviceLogin,
	revokeUncollectedApproval
} from './device-authorizations';
import { pollDeviceCode } from './device-grant';
import { sweep } from './sweeper';
import { actor, context, testServices } from './test-services';
import { normalizeUserCode } from './user-code';

let services: ReturnType<typeof testServices>;
const T0 = 1_800_000_000_000;
const SOURCE = { ip: '192.0.2.7', browser: 'test-browser', actor: null };

beforeEach(() => {
	services = testServices();
});
afterEach(() => services.dispose());

function newCode(now = T0) {
	const result = createDeviceAuthorization(services, DEMO_CLIENT, undefined, context(now));
	expect(result.status).toBe(200);
	const body = result.body as { device_code: string; user_code: string };
	return { deviceCode: body.device_code, userCode: normalizeUserCode(body.user_code) as string };
}

const josiah = (now = T0) => services.store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: 'Josiah Carberry', email: null }, now);
const laure = (now = T0) => services.store.upsertUser({ sub: 'orcid:0000-0001-5109-3700', provider: 'orcid', name: 'Laure Haak', email: null }, now);

function approve(userCode: string, now: number) {
	const owner = josiah(now);
	return approveDeviceAuthorization(services, actor(owner), { userCode, ownerId: owner.id, ownerSub: owner.sub, grantedScope: 'read write', label: null }, now);
}

const pollAt = (deviceCode: string, now: number) => pollDeviceCode(services, DEMO_CLIENT, deviceCode, context(now));
const errorOf = (result: { body: unknown }) => (result.body as { error?: string }).error;

describe('device authorization lifecycle', () => {
	it('pending → approved → consumed: tokens are issued exactly once', () => {
		const { deviceCode, userCode } = newCode();
		expect(errorOf(pollAt(deviceCode, T0 + 5_000))).toBe('authorization_pending');
		expect(approve(userCode, T0 + 6_000).ok).toBe(true);
		const issued = pollAt(deviceCode, T0 + 10_000);
		expect(issued.status).toBe(200);
		expect(issued.body).toMatchObject({ token_type: 'Bearer', scope: 'read write', expires_in: 3600 });
		expect(errorOf(pollAt(deviceCode, T0 + 20_000))).toBe('invalid_grant');
	});

	it('the stage is named: waiting for the code, then waiting for approval', () => {
		const { deviceCode, userCode } = newCode();
		expect((pollAt(deviceCode, T0).body as { error_description: string }).error_description).toMatch(/code to be entered/);
		expect(enterUserCode(services, userCode.toLowerCase(), SOURCE, T0 + 1_000).ok).toBe(true);
		expect((pollAt(deviceCode, T0 + 5_000).body as { error_description: string }).error_description).toMatch(/approval/);
	});

	it('pending → denied: the next poll answers access_denied, not a wait until expiry', () => {
		const { deviceCode, userCode } = newCode();
		expect(denyDeviceAuthorization(services, actor(laure()), userCode, 'user', T0 + 1_000).ok).toBe(true);
		expect(pollAt(deviceCode, T0 + 5_000).body).toEqual({ error: 'access_denied', error_description: 'The request was denied in the browser.' });
	});

	it('only one decision wins: a denied code cannot be approved, an approved one cannot be denied', () => {
		const first = newCode();
		expect(denyDeviceAuthorization(services, actor(laure()), first.userCode, 'user', T0).ok).toBe(true);
		expect(approve(first.userCode, T0).ok).toBe(false);
		const second = newCode();
		expect(approve(second.userCode, T0).ok).toBe(true);
		expect(denyDeviceAuthorization(services, actor(laure()), second.userCode, 'user', T0).ok).toBe(false);
	});

	it('after expires_in the poll answers expired_token and the code can no longer be entered or approved', () => {
		const { deviceCode, userCode } = newCode();
		const later = T0 + 600_000;
		expect(enterUserCode(services, userCode, SOURCE, later).ok).toBe(false);
		expect(approve(userCode, later).ok).toBe(false);
		expect(errorOf(pollAt(deviceCode, later))).toBe('expired_token');
	});

	it('polling before the interval answers slow_down, adds 5 s, and does not restart the clock', () => {
		const { deviceCode } = newCode();
		expect(errorOf(pollAt(deviceCode, T0))).toBe('authorization_pending');
		expect(errorOf(pollAt(deviceCode, T0 + 4_000))).toBe('slow_down');
		// The interval is now 10 s from the last poll that was answered (T0).
		expect(errorOf(pollAt(deviceCode, T0 + 9_000))).toBe('slow_down');
		expect(errorOf(pollAt(deviceCode, T0 + 15_000))).toBe('authorization_pending');
		const row = services.store.db.prepare('SELECT interval_seconds FROM device_authorizations').get();
		expect(row).toEqual({ interval_seconds: 15 });
	});

	it('a device code of another client answers invalid_grant', () => {
		const { deviceCode } = newCode();
		const other = { ...DEMO_CLIENT, id: 'other-cli' };
		expect(errorOf(pollDeviceCode(services, other, deviceCode, context(T0)))).toBe('invalid_grant');
	});

	it('the database holds no device code or token, only their hashes', () => {
		const { deviceCode, userCode } = newCode();
		approve(userCode, T0);
		const tokens = pollAt(deviceCode, T0 + 5_000).body as { access_token: string; refresh_token: string };
		services.store.db.pragma('wal_checkpoint(TRUNCATE)');
		const file = readFileSync(services.databasePath).toString('latin1');
		for (const secret of [deviceCode, tokens.access_token, tokens.refresh_token]) expect(file).not.toContain(secret);
	});

	it('the write-ahead log stays small under polls alone (each poll lets SQLite checkpoint)', () => {
		const { deviceCode } = newCode();
		// Each poll rewrites a page; without checkpoints 5,000 polls would leave a WAL of about 20 MB.
		for (let i = 0; i < 5_000; i++) pollAt(deviceCode, T0 + i * 10_000);
		expect(statSync(`${services.databasePath}-wal`).size).toBeLessThan(8 * 1024 * 1024);
	});
});

describe('side doors: every way of naming a code counts, and only the right browser decides', () => {
	const auditActions = () => services.store.listAudit(100, 0).map((row) => row.action);

	it('a device-login handle names only the code whose entry passed the limits', () => {
		const { userCode } = newCode();
		const entry = enterUserCode(services, userCode, SOURCE, T0 + 1_000);
		expect(entry.ok).toBe(true);
		if (!entry.ok) return;
		expect(entry.handle).not.toContain(userCode);
		expect(resolveDeviceLogin(services, entry.handle, SOURCE, T0 + 2_000)).toEqual({ ok: true, userCode });
	});

	it('a forged handle is refused, audited and counted as a wrong code: after five, even a real one waits', () => {
		const { userCode } = newCode();
		const entry = enterUserCode(services, userCode, SOURCE, T0);
		for (let i = 0; i < 4; i++)
			expect(resolveDeviceLogin(services, `forged-handle-${i}`.padEnd(43, 'x'), SOURCE, T0 + 1_000)).toEqual({ ok: false, reason: 'invalid' });
		expect(resolveDeviceLogin(services, 'forged-handle-5'.padEnd(43, 'x'), SOURCE, T0 + 1_000)).toEqual({ ok: false, reason: 'limited', retryAfter: 60 });
		expect(entry.ok && resolveDeviceLogin(services, entry.handle, SOURCE, T0 + 2_000)).toEqual({ ok: false, reason: 'limited', retryAfter: 59 });
		expect(auditActions().filter((action) => action === 'device.code_refused')).toHaveLength(5);
		expect(auditActions()).toContain('ratelimit.refused');
	});

	it('a wrong code typed at /device reaches the audit log with the address it came from', () => {
		expect(enterUserCode(services, 'BCDF-GHJK', SOURCE, T0)).toEqual({ ok: false, reason: 'invalid' });
		expect(services.store.listAudit(1, 0)[0]).toMatchObject({ action: 'device.code_refused', user_code: 'BCDFGHJK', ip: '192.0.2.7' });
	});

	it('a provider refusal denies a code no one has claimed, but never one another person is confirming', () => {
		const unclaimed = newCode();
		expect(denyAfterProviderRefusal(services, unclaimed.userCode, 'provider_denied', null, '192.0.2.9', T0).ok).toBe(true);

		const claimed = newCode();
		expect(claimForConfirmation(services, claimed.userCode, josiah().id, T0)).toBeDefined();
		expect(denyAfterProviderRefusal(services, claimed.userCode, 'provider_denied', null, '192.0.2.9', T0).ok).toBe(false);
		expect(denyAfterProviderRefusal(services, claimed.userCode, 'provider_denied', laure().id, '192.0.2.9', T0).ok).toBe(false);
		expect(denyAfterProviderRefusal(services, claimed.userCode, 'provider_failed', josiah().id, '192.0.2.9', T0).ok).toBe(true);
	});

	it('an approval can be revoked before its CLI collects the tokens: the poll answers access_denied', () => {
		const { deviceCode, userCode } = newCode();
		expect(approve(userCode, T0).ok).toBe(true);
		const [approval] = services.store.listUncollectedApprovals(josiah().id, T0 + 1_000);
		expect(approval).toMatchObject({ user_code: userCode, owner_sub: 'orcid:0000-0002-1825-0097' });
		expect(revokeUncollectedApproval(services, actor(laure()), approval.id, laure().id, T0 + 1_000)).toBe(false);
		expect(revokeUncollectedApproval(services, actor(josiah()), approval.id, josiah().id, T0 + 1_000)).toBe(true);
		expect(pollAt(deviceCode, T0 + 5_000).body).toEqual({
			error: 'access_denied',
			error_description: 'The approval was revoked before the device collected its tokens.'
		});
		expect(services.store.listUncollectedApprovals(null, T0 + 6_000)).toEqual([]);
		expect(auditActions()).toContain('device.approval_revoked');
	});
});

describe('sweeping', () => {
	it('deletes expired authorizations of every status in batches and keeps live ones', async () => {
		const live = newCode(T0 + 1_000_000);
		const insert = services.store.db.prepare(
			`INSERT INTO device_authorizations (device_code_hash, user_code, client_id, scope, status, created_at, expires_at, interval_seconds)
			 VALUES (randomblob(32), ?, 'demo-cli', 'read', ?, 0, ?, 5)`
		);
		services.store.transaction(() => {
			for (let i = 0; i < 2_500; i++) insert.run(`X${String(i).padStart(7, '0')}`, ['pending', 'denied', 'consumed'][i % 3], T0 - 1);
		});
		const report = await sweep(services, T0 + 1_000, { restFactor: 1, minRestMs: 0 });
		expect(report.deviceAuthorizations).toBe(2_500);
		const left = services.store.db.prepare('SELECT user_code FROM device_authorizations').all();
		expect(left).toEqual([{ user_code: live.userCode }]);
	});

	it('never deletes a live code when older codes outlive newer ones (DEVICE_CODE_TTL lowered), and catches up once they expire', async () => {
		const insert = services.store.db.prepare(
			`INSERT INTO device_authorizations (device_code_hash, user_code, client_id, scope, created_at, expires_at, interval_seconds)
			 VALUES (randomblob(32), ?, 'demo-cli', 'read', 0, ?, 5)`
		);
		services.store.transaction(() => {
			for (let i = 0; i < 150; i++) insert.run(`L${String(i).padStart(7, '0')}`, T0 + 86_400_000);
			for (let i = 0; i < 300; i++) insert.run(`E${String(i).padStart(7, '0')}`, T0 - 1);
		});
		const codes = () => services.store.db.prepare<[], { user_code: string }>('SELECT user_code FROM device_authorizations').all();
		const pace = { restFactor: 1, minRestMs: 0 };

		const early = await sweep(services, T0, pace);
		expect(codes().filter((row) => row.user_code.startsWith('L'))).toHaveLength(150);

		const late = await sweep(services, T0 + 86_400_000, pace);
		expect(early.deviceAuthorizations + late.deviceAuthorizations).toBe(450);
		expect(codes()).toEqual([]);
	});
});
