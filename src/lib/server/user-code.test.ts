import { describe, expect, it } from 'vitest';
import { formatUserCode, generateUserCode, normalizeUserCode, USER_CODE_ALPHABET } from './user-code';

describe('user codes', () => {
	it('are 8 characters from the base-20 alphabet with no vowels or look-alikes', () => {
		for (let i = 0; i < 500; i++) expect(generateUserCode()).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
		expect(USER_CODE_ALPHABET).not.toMatch(/[AEIOUY01]/);
	});

	it('use every letter of the alphabet (no bias that drops one)', () => {
		const seen = new Set(Array.from({ length: 400 }, generateUserCode).join(''));
		expect(seen.size).toBe(20);
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
