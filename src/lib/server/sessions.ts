import type { Config } from './config';
import { generateSecret, hashSecret } from './crypto';
import type { Services } from './services';
import type { SessionRow } from './store';

/**
 * Browser sessions after Lucia's design: a random token in an HttpOnly cookie,
 * only its SHA-256 in the database, and a sliding expiry.
 */

export function sessionCookieName(secure: boolean): string {
	// The __Host- prefix pins the cookie to this host, https and path / (RFC 6265bis).
	return secure ? '__Host-doorcode_session' : 'doorcode_session';
}

export function createSession({ config, store }: Services, userId: number, now: number): { token: string; expiresAt: number } {
	const token = generateSecret();
	const expiresAt = now + config.sessionTtl * 1000;
	store.insertSession(hashSecret(token), userId, now, expiresAt);
	return { token, expiresAt };
}

export type SessionValidation = { ok: true; session: SessionRow; renewedUntil: number | null } | { ok: false };

/** The session behind a cookie's token; renewed when less than half its lifetime is left. */
export function validateSessionToken({ config, store }: Services, token: string, now: number): SessionValidation {
	const tokenHash = hashSecret(token);
	const session = store.findSession(tokenHash);
	if (!session) return { ok: false };
	if (session.expires_at <= now) {
		store.deleteSession(tokenHash);
		return { ok: false };
	}
	const lifetime = config.sessionTtl * 1000;
	if (session.expires_at - now < lifetime / 2) {
		const renewedUntil = now + lifetime;
		store.extendSession(tokenHash, renewedUntil);
		return { ok: true, session: { ...session, expires_at: renewedUntil }, renewedUntil };
	}
	return { ok: true, session, renewedUntil: null };
}

export function invalidateSession({ store }: Services, token: string): void {
	store.deleteSession(hashSecret(token));
}

export function sessionCookieOptions(config: Config, expiresAt: number) {
	return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: config.secure, expires: new Date(expiresAt) };
}
