import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret } from '../../core/crypto';
import { PollClock } from './poll-clock';
import { openSqliteStore } from './sqlite-store';
import type { Store } from '../store';

const T0 = 1_800_000_000_000;

describe('the SQLite poll clock', () => {
	let folder: string;
	let path: string;
	let store: Store;

	beforeEach(async () => {
		folder = mkdtempSync(join(tmpdir(), 'doorcode-poll-clock-'));
		path = join(folder, 'doorcode.db');
		store = (await openSqliteStore(path)).store;
	});
	afterEach(async () => {
		await store.close();
		rmSync(folder, { recursive: true, force: true });
	});

	async function newCode(serial: number) {
		const deviceCodeHash = hashSecret(`device-${serial}`);
		await store.insertDeviceAuthorization(
			{
				deviceCodeHash,
				userCode: `P${String(serial).padStart(7, '0')}`,
				clientId: 'demo-cli',
				scope: 'read',
				createdAt: T0,
				expiresAt: T0 + 600_000,
				intervalSeconds: 5,
				requesterIp: null,
				requesterNetwork: null,
				requesterUserAgent: null,
				dpopJkt: null
			},
			[]
		);
		return deviceCodeHash;
	}

	const walBytes = () => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);

	it('answers waiting polls without writing to the database', async () => {
		const codes = await Promise.all([1, 2, 3, 4, 5].map(newCode));
		const before = walBytes();
		for (let round = 0; round < 100; round++) {
			for (const code of codes) expect((await store.pollDeviceAuthorization(code, 'demo-cli', null, T0 + round * 5_000))?.lastPollOutcome).toBe('pending');
		}
		expect(walBytes()).toBe(before);
	});

	it('writes a slowed-down interval, which a restart keeps while it forgets the clock', async () => {
		const code = await newCode(1);
		expect((await store.pollDeviceAuthorization(code, 'demo-cli', null, T0))?.lastPollOutcome).toBe('pending');
		expect(await store.pollDeviceAuthorization(code, 'demo-cli', null, T0 + 1_000)).toMatchObject({ lastPollOutcome: 'slow_down', intervalSeconds: 10 });
		await store.close();
		store = (await openSqliteStore(path)).store;
		// Forgotten: this poll is as soon after the last as the refused one was, and it is answered.
		expect(await store.pollDeviceAuthorization(code, 'demo-cli', null, T0 + 1_000)).toMatchObject({ lastPollOutcome: 'pending', intervalSeconds: 10 });
		expect(await store.pollDeviceAuthorization(code, 'demo-cli', null, T0 + 9_000)).toMatchObject({ lastPollOutcome: 'slow_down', intervalSeconds: 15 });
	});
});

describe('PollClock', () => {
	it('forgets only what no longer slows a poll down, so it stays small under any number of codes', () => {
		const clock = new PollClock();
		// 100,000 codes polled one after another, each every 5 s, one poll every 5 ms (200 a second).
		for (let id = 0; id < 100_000; id++) clock.record(id, T0 + id * 5, 5, T0 + id * 5);
		const now = T0 + 99_999 * 5;
		// Only codes polled in the last 5 s still count, about 1,000; the map holds at most the pruning threshold.
		expect(clock.size).toBeLessThanOrEqual(10_000);
		expect(clock.lastPolledAt(99_999, 5, T0)).toBe(now);
		expect(clock.lastPolledAt(99_000, 5, T0)).toBe(T0 + 99_000 * 5);
		clock.prune(now);
		expect(clock.size).toBe(1_000);
		expect(clock.lastPolledAt(0, 5, T0)).toBeNull();
	});

	it('ignores a clock older than the code, left by a deleted code whose id SQLite gave again', () => {
		const clock = new PollClock();
		clock.record(7, T0, 5, T0);
		expect(clock.lastPolledAt(7, 5, T0)).toBe(T0);
		expect(clock.lastPolledAt(7, 5, T0 + 1_000)).toBeNull();
	});
});
