import { expect, test } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SERVER_ENVIRONMENT, SERVER_NODE_FLAGS } from '../../scripts/node-flags.mjs';
import { requires } from '../support/requires.ts';

/** The systemd unit docs/operations.md's deployment names, as systemd itself reads it. */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
test('the systemd unit starts node with the flags and the environment npm start and the bench use', () => {
	const unit = readFileSync(`${ROOT}docs/deploy/doorcode.service`, 'utf8');
	expect(unit.match(/^ExecStart=(.*)$/m)?.[1]).toBe(`/usr/bin/node ${SERVER_NODE_FLAGS.join(' ')} server.js`);
	const environment = unit.match(/^Environment=.*$/gm)?.join(' ') ?? '';
	for (const [name, value] of Object.entries(SERVER_ENVIRONMENT)) expect(environment).toContain(`${name}=${value}`);
});

test.describe('as systemd reads it', () => {
	requires('systemd-analyze');

	test('the systemd unit passes systemd-analyze verify', () => {
		const verified = spawnSync('systemd-analyze', ['verify', `${ROOT}docs/deploy/doorcode.service`], { encoding: 'utf8' });
		expect(verified.stderr).toBe('');
		expect(verified.status).toBe(0);
	});
});
