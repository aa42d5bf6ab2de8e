import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSecret, hashSecret, hexDigestsEqual, sha256Hex } from './crypto';

describe('secrets and hashes', () => {
	it('a secret is 32 random bytes in base64url, with an optional prefix', () => {
		const secret = generateSecret('dca_');
		expect(secret).toMatch(/^dca_[A-Za-z0-9_-]{43}$/);
		expect(Buffer.from(secret.slice(4), 'base64url')).toHaveLength(32);
		expect(generateSecret()).not.toBe(generateSecret());
	});

	it('what is stored is the SHA-256 of the secret', () => {
		expect(hashSecret('abc').toString('hex')).toBe(createHash('sha256').update('abc').digest('hex'));
		expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
	});

	it('hex digests compare equal only when identical and non-empty', () => {
		expect(hexDigestsEqual(sha256Hex('a'), sha256Hex('a'))).toBe(true);
		expect(hexDigestsEqual(sha256Hex('a'), sha256Hex('b'))).toBe(false);
		expect(hexDigestsEqual('', '')).toBe(false);
		expect(hexDigestsEqual(sha256Hex('a'), 'abcd')).toBe(false);
	});
});
