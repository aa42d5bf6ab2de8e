// Keeping a stored login alive: refresh the access token before it expires, one
// process at a time, and log out by revoking on the server before forgetting locally.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { configDir, credentialsPath, loadCredentials, removeServerCredentials, saveServerCredentials, type ServerCredentials } from './credentials.ts';
import { describeNetworkError, fetchEndpoints, requestRefresh, revokeToken, type PollResponse } from './device-flow.ts';
import { fromStored, type DpopKey } from './dpop.ts';

type Env = Record<string, string | undefined>;

/** Refresh this long before the access token expires, so a call never races its expiry. */
export const REFRESH_MARGIN_MS = 60_000;
/** A lock older than this was left by a process that died or hung mid-refresh. */
export const STALE_LOCK_MS = 30_000;
/** How long a second process waits for the lock before giving up with a message. */
export const LOCK_WAIT_MS = 10_000;
const LOCK_POLL_MS = 50;
/**
 * A refresh must finish well inside STALE_LOCK_MS: otherwise a live holder's
 * lock could be taken over while its refresh is still in flight, and the two
 * refreshes with one token would trip the server's reuse detection.
 */
const REFRESH_TIMEOUT_MS = 20_000;

export function needsRefresh(creds: Pick<ServerCredentials, 'expires_at'>, now: number = Date.now()): boolean {
	return creds.expires_at - now <= REFRESH_MARGIN_MS;
}

/**
 * After waiting for the lock: can we use what is stored now instead of
 * refreshing? Not the access token the server just refused. Yes if it is no
 * longer near expiry; yes too if another process refreshed while we waited
 * (the refresh token changed) and it has not actually expired, since with a
 * server lifetime under REFRESH_MARGIN_MS every waiter would otherwise
 * refresh again, one after another.
 */
export function refreshedMeanwhile(current: ServerCredentials, before: ServerCredentials, rejected: string | undefined, now: number = Date.now()): boolean {
	if (current.access_token === rejected) return false;
	if (!needsRefresh(current, now)) return true;
	return current.refresh_token !== before.refresh_token && current.expires_at > now;
}

export type FreshCredentials = { ok: true; creds: ServerCredentials } | { ok: false; reason: 'ended' | 'no-refresh-token'; description?: string };

/**
 * The server's credentials, refreshed first when the access token is (nearly)
 * expired or when the server refused it (`rejected`: that access token).
 * Refresh tokens rotate and presenting a retired one revokes the whole login
 * (RFC 9700), so two CLI processes must never refresh with the same token: the
 * lock serialises them, and whoever waited re-reads the file and uses the
 * tokens the other one got.
 */
export async function freshCredentials(server: string, env: Env, { rejected }: { rejected?: string } = {}): Promise<FreshCredentials> {
	const stored = (await loadCredentials(env)).servers[server];
	if (!stored) return { ok: false, reason: 'ended' };
	if (rejected === undefined && !needsRefresh(stored)) return { ok: true, creds: stored };
	return withCredentialsLock(env, async () => {
		const current = (await loadCredentials(env)).servers[server];
		if (!current) return { ok: false, reason: 'ended' }; // logged out meanwhile
		if (refreshedMeanwhile(current, stored, rejected)) return { ok: true, creds: current };
		if (!current.refresh_token) return { ok: false, reason: 'no-refresh-token' };
		return refreshNow(server, current, env);
	});
}

/** The DPoP key a login's tokens are bound to; none for a login stored before the CLI used DPoP. */
export async function dpopKeyOf(creds: ServerCredentials): Promise<DpopKey | undefined> {
	return creds.dpop_key ? fromStored(creds.dpop_key) : undefined;
}

/** One refresh with the stored refresh token, proving the login's key; the caller holds the lock. */
async function refreshNow(server: string, current: ServerCredentials, env: Env): Promise<FreshCredentials> {
	const answer = await requestRefresh(current.token_endpoint, current.client_id, current.refresh_token!, {
		timeoutMs: REFRESH_TIMEOUT_MS,
		dpop: await dpopKeyOf(current)
	});
	const body = bodyOf(answer);
	if (answer.status === 200 && typeof body.access_token === 'string') {
		// Saved before anyone uses it: the old refresh token is already retired on the server.
		const refreshed = applyRefresh(current, body);
		await saveServerCredentials(server, refreshed, env);
		return { ok: true, creds: refreshed };
	}
	if (answer.status === 400 && body.error === 'invalid_grant') {
		// Revoked, expired or reuse-detected: these tokens will never work again.
		await removeServerCredentials(server, env);
		return { ok: false, reason: 'ended', ...(typeof body.error_description === 'string' ? { description: body.error_description } : {}) };
	}
	// 5xx, 429, a proxy's HTML page: the login may be fine; keep the tokens and say what happened.
	throw new Error(`the server answered HTTP ${answer.status} to the token refresh${typeof body.error === 'string' ? ` (${body.error})` : ''}`);
}

/** The stored credentials after a successful refresh response (RFC 6749 §5.1). */
export function applyRefresh(current: ServerCredentials, body: Record<string, unknown>, now: number = Date.now()): ServerCredentials {
	return {
		...current,
		access_token: body.access_token as string,
		// RFC 6749 §6: without a new refresh token, the old one stays valid.
		...(typeof body.refresh_token === 'string' ? { refresh_token: body.refresh_token } : {}),
		...(typeof body.token_type === 'string' ? { token_type: body.token_type } : {}),
		...(typeof body.scope === 'string' ? { scope: body.scope } : {}),
		expires_at: now + (typeof body.expires_in === 'number' ? body.expires_in : 3600) * 1000,
		saved_at: now
	};
}

// --- the lock -----------------------------------------------------------------

export function lockPath(env: Env): string {
	return `${credentialsPath(env)}.lock`;
}

/**
 * Runs `fn` holding credentials.json.lock, waiting up to LOCK_WAIT_MS for
 * another process to let go. A stale lock (its process is gone, or it is older
 * than STALE_LOCK_MS) is taken over.
 */
export async function withCredentialsLock<T>(env: Env, fn: () => Promise<T>): Promise<T> {
	await mkdir(configDir(env), { recursive: true, mode: 0o700 });
	const path = lockPath(env);
	const mine = await acquireLock(path, Date.now() + LOCK_WAIT_MS);
	try {
		return await fn();
	} finally {
		await releaseLock(path, mine);
	}
}

/** Creates the lock file ('wx': only one process can) and returns what it wrote. */
async function acquireLock(path: string, deadline: number): Promise<string> {
	// The nonce tells our lock from a later holder's when releasing.
	const content = JSON.stringify({ pid: process.pid, at: Date.now(), nonce: randomBytes(8).toString('hex') });
	for (;;) {
		try {
			const handle = await open(path, 'wx', 0o600);
			try {
				await handle.writeFile(content);
			} finally {
				await handle.close();
			}
			return content;
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
		}
		if (await removeIfStale(path)) continue;
		if (Date.now() > deadline) {
			throw new Error(`another doorcode process has been refreshing for over ${LOCK_WAIT_MS / 1000} s; if none is running, delete ${path}`);
		}
		await sleep(LOCK_POLL_MS);
	}
}

/**
 * Removes the lock when its holder is gone. It is read twice and removed only
 * if unchanged, so a waiter that judged an old lock stale does not delete the
 * fresh lock another waiter has just put in its place.
 */
async function removeIfStale(path: string): Promise<boolean> {
	const seen = await readLock(path);
	if (seen === undefined) return true; // released meanwhile: just try again
	if (!(await isStale(path, seen))) return false;
	if ((await readLock(path)) !== seen) return true;
	await rm(path, { force: true });
	return true;
}

/** Stale: its process is dead, or it is older than STALE_LOCK_MS (a hung or foreign-host holder). */
export async function isStale(path: string, content: string, now: number = Date.now()): Promise<boolean> {
	let holder: { pid?: unknown; at?: unknown };
	try {
		holder = JSON.parse(content);
	} catch {
		// Empty or half-written: a holder that died between creating and writing
		// it, or one writing right now. Only its age can tell.
		return now - (await stat(path)).mtimeMs > STALE_LOCK_MS;
	}
	if (typeof holder.at !== 'number' || now - holder.at > STALE_LOCK_MS) return true;
	return typeof holder.pid === 'number' && !isAlive(holder.pid);
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0); // signal 0 only asks whether the process exists
		return true;
	} catch (error) {
		// EPERM: it exists but belongs to someone else.
		return (error as NodeJS.ErrnoException).code !== 'ESRCH';
	}
}

async function readLock(path: string): Promise<string | undefined> {
	try {
		return await readFile(path, 'utf8');
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
		throw error;
	}
}

/** Deletes the lock only if it is still ours (it may have been taken over as stale). */
async function releaseLock(path: string, mine: string): Promise<void> {
	if ((await readLock(path)) === mine) await rm(path, { force: true });
}

// --- logout -------------------------------------------------------------------

export type LogoutResult = { kind: 'not-logged-in' } | { kind: 'revoked' } | { kind: 'unconfirmed'; reason: string };

/**
 * RFC 7009 logout: revoke the refresh token (which ends the whole grant) and
 * the access token, then forget them here whatever the server said. Held under
 * the lock so a concurrent refresh cannot save new tokens after we forgot them.
 */
export async function logout(server: string, env: Env): Promise<LogoutResult> {
	return withCredentialsLock(env, async () => {
		const creds = (await loadCredentials(env)).servers[server];
		if (!creds) return { kind: 'not-logged-in' };
		const failure = await revokeAll(server, creds);
		await removeServerCredentials(server, env);
		return failure === undefined ? { kind: 'revoked' } : { kind: 'unconfirmed', reason: failure };
	});
}

/** Revokes both tokens; returns why the server did not confirm it, or undefined when it did. */
async function revokeAll(server: string, creds: ServerCredentials): Promise<string | undefined> {
	try {
		const endpoint = creds.revocation_endpoint ?? (await discoverRevocationEndpoint(server));
		const dpop = await dpopKeyOf(creds);
		const tokens: [string | undefined, 'refresh_token' | 'access_token'][] = [
			[creds.refresh_token, 'refresh_token'],
			[creds.access_token, 'access_token']
		];
		for (const [token, hint] of tokens) {
			if (!token) continue;
			const answer = await revokeToken(endpoint, creds.client_id, token, hint, dpop);
			if (answer.status !== 200) return refusal(answer);
		}
		return undefined;
	} catch (error) {
		return describeNetworkError(error);
	}
}

/** Credentials saved before the server had a revocation endpoint lack it: ask the metadata. */
async function discoverRevocationEndpoint(server: string): Promise<string> {
	const { endpoints } = await fetchEndpoints(server);
	return endpoints.revocation_endpoint ?? `${server}/oauth/revoke`;
}

function refusal(answer: PollResponse): string {
	const body = bodyOf(answer);
	return `the server answered HTTP ${answer.status}${typeof body.error === 'string' ? ` (${body.error})` : ''}`;
}

function bodyOf(answer: PollResponse): Record<string, unknown> {
	return typeof answer.body === 'object' && answer.body !== null ? (answer.body as Record<string, unknown>) : {};
}

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}
