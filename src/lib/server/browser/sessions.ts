import { generateSecret, hashSecret } from '../core/crypto';
import type { Services } from '../core/services';
import { isAdmin } from './users';
import { msFromSeconds } from '../core/time';

/**
 * Browser sessions after Lucia's design: a random token in an HttpOnly cookie,
 * only its SHA-256 in the database, and a sliding expiry.
 */

/** The person signed in in this browser, as pages and actions see them. */
export interface SessionUser {
	id: number;
	sub: string;
	provider: string;
	name: string | null;
	email: string | null;
	/** What their provider said at the last sign-in that said any. */
	groups: string[];
	isAdmin: boolean;
}

export async function createSession({ config, store }: Services, userId: number, now: number): Promise<{ token: string; expiresAt: number }> {
	const token = generateSecret();
	const expiresAt = now + msFromSeconds(config.sessionTtlSeconds);
	await store.insertSession(hashSecret(token), userId, now, expiresAt);
	return { token, expiresAt };
}

export type SessionValidation = { ok: true; user: SessionUser; renewedUntil: number | null } | { ok: false };

/** The person behind a cookie's token; the session is renewed when less than half its lifetime is left. */
export async function validateSessionToken({ config, store }: Services, token: string, now: number): Promise<SessionValidation> {
	const tokenHash = hashSecret(token);
	const session = await store.findSession(tokenHash);
	if (!session) return { ok: false };
	if (session.expiresAt <= now) {
		await store.deleteSession(tokenHash);
		return { ok: false };
	}
	const user = {
		id: session.userId,
		sub: session.sub,
		provider: session.provider,
		name: session.name,
		email: session.email,
		groups: session.groups,
		isAdmin: isAdmin(config, session)
	};
	const lifetime = msFromSeconds(config.sessionTtlSeconds);
	if (session.expiresAt - now < lifetime / 2) {
		const renewedUntil = now + lifetime;
		await store.extendSession(tokenHash, renewedUntil);
		return { ok: true, user, renewedUntil };
	}
	return { ok: true, user, renewedUntil: null };
}

export async function invalidateSession({ store }: Services, token: string): Promise<void> {
	await store.deleteSession(hashSecret(token));
}
