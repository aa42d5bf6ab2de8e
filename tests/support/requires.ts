import { test } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The system programs some tests run, beyond Node and npm, and the Debian package of each.
 * .ci/run installs them all; a machine with only Node and npm has none of them.
 */
export const PROGRAMS = {
	nginx: { debian: 'nginx-light', present: () => onPath('nginx') },
	openssl: { debian: 'openssl', present: () => onPath('openssl') },
	'systemd-analyze': { debian: 'systemd', present: () => onPath('systemd-analyze') },
	PyJWT: { debian: 'python3-jwt', present: () => spawnSync('/usr/bin/python3', ['-c', 'import jwt; jwt.PyJWT'], { stdio: 'ignore' }).status === 0 }
};
export type Program = keyof typeof PROGRAMS;

/** Debian installs nginx in /usr/sbin, which not every PATH names; the tests look there too. */
export const SBIN_PATH = `${process.env.PATH}${delimiter}/usr/sbin${delimiter}/usr/local/sbin`;

function onPath(command: string): boolean {
	return SBIN_PATH.split(delimiter).some((folder) => {
		try {
			accessSync(join(folder, command), constants.X_OK);
			return true;
		} catch {
			return false;
		}
	});
}

/** The one command that installs them. */
export const installCommand = (programs: Program[]) => `apt-get install -y ${[...new Set(programs.map((name) => PROGRAMS[name].debian))].join(' ')}`;

const REASON = /^needs (.+): apt-get install/;

/** The programs a test was skipped for, read back from its skip reason (for the summary line). */
export function missingFrom(skipReason: string | undefined): Program[] {
	return (REASON.exec(skipReason ?? '')?.[1].split(', ') ?? []).filter((name): name is Program => name in PROGRAMS);
}

const inCI = ['true', '1'].includes(process.env.CI ?? '');

/**
 * Call in a test.describe (or at the top of a file): its tests run only where these programs
 * are installed. Elsewhere they are skipped with the reason, and the run's summary names them
 * and the command that installs them. In CI (CI=true) they fail instead, so CI can never quietly
 * stop running them.
 */
export function requires(...programs: Program[]): void {
	const missing = programs.filter((name) => !PROGRAMS[name].present());
	if (missing.length === 0) return;
	const reason = `needs ${missing.join(', ')}: ${installCommand(missing)}`;
	if (inCI) {
		// Registered before the file's own hooks, so this error is the first one each test reports.
		test.beforeAll(() => {
			throw new Error(`${reason} (CI runs every test; .ci/run installs it)`);
		});
	} else {
		test.skip(true, reason);
	}
}
