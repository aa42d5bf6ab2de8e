// Keeping a stored login alive: refresh the access token before it expires, one
// process at a time, and log out by revoking on the server before forgetting locally.

import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { configDir, credentialsPath, loadCredentials, removeServerCredentials, saveServerCredentials, type ServerCredentials } from './credentials.ts';
import { requestRefresh, revokeToken } from './device-flow.ts';

type Env = Record<string, string | undefined>;

/** Refresh this long before the access token expires, so a call never races its expiry. */
export const REFRESH_MARGIN_MS = 60_000;
/** A lock older than this was left by a process that died mid-refresh. */
export const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

export function needsRefresh(creds: Pick<ServerCredentials, 'expires_at'>, now: number = Date.now()): boolean {
	return creds.expires_at - now <= REFRESH_MARGIN_MS;
}

export type FreshCredentials = { ok: true; creds: ServerCredentials } | { ok: false; reason: 'ended' | 'no-refresh-token'; description?: string };

/**
 * The server's credentials, refreshed first when the access token is (nearly) expired
 * or `force` is set. Refresh tokens rotate and a reused one revokes the whole login
 * (RFC 9700), so two CLI processes must never refresh with the same token: a lock file
 * serialises them, and whoever waited re-reads the file and uses the new tokens.
 */
export async function freshCredentials(server: string, env: Env, { force = false } = {}): Promise<FreshCredentials> {
	const before = (await loadCredentials(env)).servers[server];
	if (!before) return { ok: false, reason: 'ended' };
	if (!force && !needsRefresh(before)) return { ok: true, creds: before };
	return withCredentialsLock(env, async () => {
		const current = (await loadCredentials(env)).servers[server];
		if (!current) return { ok: false, reason: 'ended' };
		// Another process refreshed while we waited for the lock.
		if (current.access_token !== before.access_token && !needsRefresh(current)) return { ok: true, creds: current };
		if (!current.refresh_token) return { ok: false, reason: 'no-refresh-token' };
		const answer = await requestRefresh(current.token_endpoint, current.client_id, current.refresh_token);
		const body = (answer.body ?? {}) as Record<string, unknown>;
		if (answer.status === 200 && typeof body.access_token === 'string') {
			const now = Date.now();
			const refreshed: ServerCredentials = {
				...current,
				access_token: body.access_token,
				...(typeof body.refresh_token === 'string' ? { refresh_token: body.refresh_token } : {}),
				...(typeof body.scope === 'string' ? { scope: body.scope } : {}),
				expires_at: now + (typeof body.expires_in === 'number' ? body.expires_in : 3600) * 1000,
				saved_at: now
			};
			await saveServerCredentials(server, refreshed, env);
			return { ok: true, creds: refreshed };
		}
		if (answer.status === 400 && body.error === 'invalid_grant') {
			await removeServerCredentials(server, env);
			return { ok: false, reason: 'ended', description: typeof body.error_description === 'string' ? body.error_description : undefined };
		}
		throw new Error(`the server answered HTTP ${answer.status} to the refresh${typeof body.error === 'string' ? ` (${body.error})` : ''}`);
	});
}

/** Runs `fn` holding credentials.json.lock; a stale lock (dead process, or old) is taken over. */
export async function withCredentialsLock<T>(env: Env, fn: () => Promise<T>): Promise<T> {
	await mkdir(configDir(env), { recursive: true, mode: 0o700 });
	const lock = `${credentialsPath(env)}.lock`;
	const deadline = Date.now() + LOCK_WAIT_MS;
	for (;;) {
		try {
			const handle = await open(lock, 'wx', 0o600);
			await handle.writeFile(JSON.stringify({ pid: process.pid, at: Date.now() }));
			await handle.close();
			break;
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
			if (await isStale(lock)) {
				await rm(lock, { force: true });
				continue;
			}
			if (Date.now() > deadline) throw new Error(`another doorcode login is refreshing; if none is, remove ${lock}`);
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
	}
	try {
		return await fn();
	} finally {
		await rm(lock, { force: true });
	}
}

async function isStale(lock: string): Promise<boolean> {
	try {
		const { pid, at } = JSON.parse(await readFile(lock, 'utf8')) as { pid: number; at: number };
		if (Date.now() - at > STALE_LOCK_MS) return true;
		process.kill(pid, 0);
		return false;
	} catch (error) {
		// ESRCH: the process is gone. A half-written lock file is young; wait for it.
		return (error as NodeJS.ErrnoException).code === 'ESRCH';
	}
}

export type LogoutResult = 'not-logged-in' | 'revoked' | 'unconfirmed';

/** RFC 7009 logout: revoke the refresh token (ending the grant) and the access token, then forget them. */
export async function logout(server: string, env: Env): Promise<LogoutResult> {
	const creds = (await loadCredentials(env)).servers[server];
	if (!creds) return 'not-logged-in';
	const endpoint = creds.revocation_endpoint ?? `${server}/oauth/revoke`;
	let confirmed = false;
	try {
		const refreshRevoked = creds.refresh_token ? await revokeToken(endpoint, creds.client_id, creds.refresh_token, 'refresh_token') : true;
		const accessRevoked = await revokeToken(endpoint, creds.client_id, creds.access_token, 'access_token');
		confirmed = refreshRevoked && accessRevoked;
	} catch {
		confirmed = false;
	}
	await removeServerCredentials(server, env);
	return confirmed ? 'revoked' : 'unconfirmed';
}
