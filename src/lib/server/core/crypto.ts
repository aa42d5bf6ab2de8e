import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes, base64url: device codes, access, refresh and session tokens (SPEC, security rules). */
export function generateSecret(prefix = ''): string {
	return prefix + randomBytes(32).toString('base64url');
}

/** The only form in which a secret is stored: a database leak lets no one poll or call APIs. */
export function hashSecret(secret: string): Buffer {
	return hash('sha256', secret, 'buffer');
}

export function sha256Hex(value: string): string {
	return createHash('sha256').update(value).digest('hex');
}

/** Compares two hex digests without leaking, through timing, how much of them matched. */
export function hexDigestsEqual(a: string, b: string): boolean {
	const left = Buffer.from(a, 'hex');
	const right = Buffer.from(b, 'hex');
	return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}
