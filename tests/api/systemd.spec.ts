import { expect, test } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { requires } from '../support/requires.ts';

/** The systemd unit docs/operations.md's deployment names, as systemd itself reads it. */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
requires('systemd-analyze');

test('the systemd unit passes systemd-analyze verify', () => {
	const verified = spawnSync('systemd-analyze', ['verify', `${ROOT}docs/deploy/doorcode.service`], { encoding: 'utf8' });
	expect(verified.stderr).toBe('');
	expect(verified.status).toBe(0);
});
