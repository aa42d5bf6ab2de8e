import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatUserCode, generateUserCode, normalizeUserCode, USER_CODE_ALPHABET } from './user-code';

describe('user codes', () => {
	it('are 8 characters from the base-20 alphabet with no vowels or look-alikes', () => {
		for (let i = 0; i < 500; i++) expect(generateUserCode()).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
		expect(USER_CODE_ALPHABET).not.toMatch(/[AEIOUY01]/);
	});

	it('draw every letter equally often: a chi-squared test that a `byte % 20` generator fails', () => {
		const letters = 800_000;
		const unbiased = chiSquared(Array.from({ length: letters / 8 }, generateUserCode).join(''));
		// `byte % 20` gives the first 16 letters 13/256 and the last 4 only 12/256.
		const moduloBiased = chiSquared(Array.from(randomBytes(letters), (byte) => USER_CODE_ALPHABET[byte % 20]).join(''));
		// 19 degrees of freedom: above 60 happens by chance with probability below 2·10^-6.
		expect(unbiased).toBeLessThan(60);
		expect(moduloBiased).toBeGreaterThan(60);
	});

	it('are shown as XXXX-XXXX', () => {
		expect(formatUserCode('BCDFGHJK')).toBe('BCDF-GHJK');
	});

	it('typed input is upper-cased and stripped of spaces and dashes', () => {
		expect(normalizeUserCode('bcdf-ghjk')).toBe('BCDFGHJK');
		expect(normalizeUserCode('  BCDF GHJK ')).toBe('BCDFGHJK');
		expect(normalizeUserCode('b-c-d-f g h j k')).toBe('BCDFGHJK');
	});

	it('input that cannot be a code normalises to null', () => {
		for (const input of ['', 'BCDF-GHJ', 'BCDF-GHJKL', 'ABCD-EFGH', 'BCDF-GHJ0', "BCDF'; --", 'ＢＣＤＦＧＨＪＫ']) {
			expect(normalizeUserCode(input)).toBeNull();
		}
	});
});

/** Pearson's chi-squared statistic of the letter counts against a uniform draw from the alphabet. */
function chiSquared(text: string): number {
	const counts = new Map<string, number>();
	for (const letter of text) counts.set(letter, (counts.get(letter) ?? 0) + 1);
	const expected = text.length / USER_CODE_ALPHABET.length;
	return [...USER_CODE_ALPHABET].reduce((sum, letter) => sum + ((counts.get(letter) ?? 0) - expected) ** 2 / expected, 0);
}
