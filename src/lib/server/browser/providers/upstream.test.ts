import { describe, expect, it } from 'vitest';
import { emailOf } from './upstream';

describe("a provider's word on a person's email", () => {
	it('counts only with email_verified: true; missing, false or a string "true" is unverified', () => {
		expect(emailOf({ email: 'Tech@Lab.Example', email_verified: true })).toBe('tech@lab.example');
		for (const verified of [undefined, false, 'true', 1]) expect(emailOf({ email: 'tech@lab.example', email_verified: verified }), String(verified)).toBeNull();
		expect(emailOf({ email_verified: true })).toBeNull();
	});
});
