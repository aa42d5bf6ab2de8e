import { randomBytes } from 'node:crypto';

/** Base-20, no vowels and no look-alikes (RFC 8628 §6.1): 20^8 ≈ 2.56e10 codes. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_LENGTH = 8;

/** Bytes at or above this are redrawn, so every letter is equally likely (240 = 12 × 20). */
const UNBIASED_LIMIT = 240;

/** A new user code in its stored form: 8 characters, no dash. */
export function generateUserCode(): string {
	let code = '';
	while (code.length < USER_CODE_LENGTH) {
		for (const byte of randomBytes(12)) {
			if (byte < UNBIASED_LIMIT && code.length < USER_CODE_LENGTH) code += USER_CODE_ALPHABET[byte % USER_CODE_ALPHABET.length];
		}
	}
	return code;
}

/** How a person reads it: XXXX-XXXX. */
export function formatUserCode(code: string): string {
	return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * What a person typed, in stored form, or null when it cannot be a code.
 * Upper-cases and drops spaces and dashes, so "bcdf ghjk" and "BCDF-GHJK" match.
 */
export function normalizeUserCode(input: string): string | null {
	const code = input.toUpperCase().replace(/[\s-]+/g, '');
	if (code.length !== USER_CODE_LENGTH) return null;
	for (const char of code) if (!USER_CODE_ALPHABET.includes(char)) return null;
	return code;
}
