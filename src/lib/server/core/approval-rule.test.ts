import { describe, expect, it } from 'vitest';
import { approverOf, checkApprover, describeApprovalRule, parseApprovalRule, type ApprovalRule, type Approver } from './approval-rule';

const josiah: Approver = { sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', email: null, groups: [] };
const alice: Approver = { sub: 'clerk:user_2demoAlice0000000000000', provider: 'clerk', email: 'alice@lab.example', groups: [] };
const ada: Approver = { sub: 'acme:ada', provider: 'acme', email: 'Ada@Acme.Example', groups: ['acme', 'acme/platform'] };
const NAMES: Record<string, string> = { orcid: 'ORCID', clerk: 'Clerk', acme: 'Acme SSO' };
const named = (id: string) => NAMES[id] ?? id;

const check = (rule: ApprovalRule | undefined, approver: Approver) => checkApprover(rule, approver, named);
const admitted = (rule: ApprovalRule | undefined, approver: Approver) => check(rule, approver).admitted;

describe('who may approve', () => {
	it('without a rule, anyone who can sign in may approve; an empty rule is the same', () => {
		for (const person of [josiah, alice, ada]) {
			expect(admitted(undefined, person)).toBe(true);
			expect(admitted({}, person)).toBe(true);
		}
	});

	it('providers admits only people who signed in with a listed provider, and says which in words', () => {
		const rule = { providers: ['clerk', 'acme'] };
		expect(admitted(rule, alice)).toBe(true);
		expect(admitted(rule, ada)).toBe(true);
		expect(check(rule, josiah)).toEqual({
			admitted: false,
			reason: 'Only accounts from Clerk or Acme SSO may approve for this application; this account is from ORCID.'
		});
	});

	it('email_domains admits a verified address at exactly a listed domain, whatever its case; never a subdomain or a look-alike', () => {
		const rule = { emailDomains: ['lab.example', 'acme.example'] };
		expect(admitted(rule, alice)).toBe(true);
		expect(admitted(rule, ada)).toBe(true);
		expect(admitted(rule, { ...alice, email: 'alice@mail.lab.example' })).toBe(false);
		expect(admitted(rule, { ...alice, email: 'alice@notlab.example' })).toBe(false);
		expect(admitted(rule, { ...alice, email: 'lab.example@evil.example' })).toBe(false);
		expect(check(rule, josiah)).toEqual({
			admitted: false,
			reason:
				'Only people with a verified email address at lab.example or acme.example may approve for this application. This account has no verified email address.'
		});
		expect(check(rule, { ...alice, email: 'alice@other.example' })).toEqual({
			admitted: false,
			reason:
				"Only people with a verified email address at lab.example or acme.example may approve for this application. This account's verified email address is at other.example."
		});
	});

	it('groups admits a member of a listed group, exactly as the provider names it', () => {
		const rule = { groups: ['acme/platform'] };
		expect(admitted(rule, ada)).toBe(true);
		expect(admitted(rule, { ...ada, groups: ['acme'] })).toBe(false);
		expect(admitted(rule, { ...ada, groups: ['Acme/Platform'] })).toBe(false);
		expect(check(rule, { ...ada, groups: ['acme'] })).toEqual({
			admitted: false,
			reason: 'Only members of acme/platform may approve for this application. It is in none of those groups.'
		});
		expect(check(rule, alice)).toEqual({
			admitted: false,
			reason: 'Only members of acme/platform may approve for this application. Its provider names no groups for it.'
		});
	});

	it('subjects admits a listed sub, and an email: sub admits whoever has that verified address; the refusal never shows the list', () => {
		const rule = { subjects: ['orcid:0000-0002-1825-0097', 'email:ada@acme.example'] };
		expect(admitted(rule, josiah)).toBe(true);
		expect(admitted(rule, ada)).toBe(true);
		expect(admitted(rule, { ...josiah, sub: 'orcid:0000-0001-5109-3700' })).toBe(false);
		expect(check(rule, alice)).toEqual({ admitted: false, reason: 'Only 2 accounts named by their ids may approve for this application.' });
		expect(JSON.stringify(check(rule, alice))).not.toContain('0000-0002-1825-0097');
	});

	it('email_domains, groups and subjects together admit someone who matches any one of them', () => {
		const rule = { emailDomains: ['lab.example'], groups: ['acme/platform'], subjects: ['orcid:0000-0002-1825-0097'] };
		expect(admitted(rule, alice)).toBe(true);
		expect(admitted(rule, ada)).toBe(true);
		expect(admitted(rule, josiah)).toBe(true);
		expect(check(rule, { ...josiah, sub: 'orcid:0000-0001-5109-3700' })).toEqual({
			admitted: false,
			reason:
				'Only people with a verified email address at lab.example, members of acme/platform or one account named by its id may approve for this application. This account has no verified email address. Its provider names no groups for it.'
		});
	});

	it('providers and the other lists together need both: the right provider, and a match', () => {
		const rule = { providers: ['acme'], emailDomains: ['lab.example'], groups: ['acme/platform'] };
		expect(admitted(rule, ada)).toBe(true);
		// Alice's address is in a listed domain, but she signed in with Clerk.
		expect(check(rule, alice)).toEqual({
			admitted: false,
			reason: 'Only accounts from Acme SSO may approve for this application; this account is from Clerk.'
		});
		expect(admitted(rule, { ...ada, groups: ['acme'], email: 'ada@acme.example' })).toBe(false);
	});

	it('an owner an admin names by address is checked by what the address shows: its domain or an email: sub, never its provider', () => {
		const owner = approverOf({ sub: 'email:tech@lab.example', provider: 'email', email: 'tech@lab.example', groups: [] });
		expect(owner).toEqual({ sub: 'email:tech@lab.example', provider: null, email: 'tech@lab.example', groups: null });
		expect(admitted({ providers: ['clerk'] }, owner)).toBe(true);
		expect(admitted({ providers: ['clerk'], emailDomains: ['lab.example'] }, owner)).toBe(true);
		expect(admitted({ subjects: ['email:tech@lab.example'] }, owner)).toBe(true);
		expect(admitted({ emailDomains: ['acme.example'] }, owner)).toBe(false);
		// Groups cannot be shown by an address: such an owner must be named by their sub once they have signed in.
		expect(check({ groups: ['acme/platform'] }, owner)).toEqual({
			admitted: false,
			reason: 'Only members of acme/platform may approve for this application. Its groups cannot be known before it signs in.'
		});
	});

	it('a person who signed in is seen with everything their provider said', () => {
		expect(approverOf({ sub: 'acme:ada', provider: 'acme', email: null, groups: ['acme'] })).toEqual({
			sub: 'acme:ada',
			provider: 'acme',
			email: null,
			groups: ['acme']
		});
	});

	it('the admin pages describe a rule in a line', () => {
		expect(describeApprovalRule(undefined, named)).toBe('anyone who can sign in');
		expect(describeApprovalRule({ providers: ['clerk'] }, named)).toBe('accounts from Clerk');
		expect(describeApprovalRule({ providers: ['acme'], groups: ['acme/platform'], subjects: ['github:583231'] }, named)).toBe(
			'accounts from Acme SSO, and of those members of acme/platform or one account named by its id'
		);
	});
});

describe('allow as CLIENTS_FILE writes it', () => {
	it('reads snake_case lists into the rule, lower-casing domains and email: subs, without repeats', () => {
		expect(
			parseApprovalRule({
				providers: ['acme', 'github', 'acme'],
				email_domains: ['Lab.Example'],
				groups: ['acme/platform'],
				subjects: ['github:583231', 'email:Tech@Lab.Example']
			})
		).toEqual({
			ok: true,
			rule: { providers: ['acme', 'github'], emailDomains: ['lab.example'], groups: ['acme/platform'], subjects: ['github:583231', 'email:tech@lab.example'] },
			unknownKeys: []
		});
	});

	it('names unknown keys, so a typo does not silently admit everyone', () => {
		expect(parseApprovalRule({ domains: ['lab.example'], providers: ['orcid'] })).toEqual({
			ok: true,
			rule: { providers: ['orcid'] },
			unknownKeys: ['domains']
		});
	});

	it('refuses what would admit no one or cannot match: empty lists, an @ in a domain, the reserved provider email, subs without a provider', () => {
		const refused = (value: unknown) => {
			const parsed = parseApprovalRule(value);
			return parsed.ok ? null : parsed.error;
		};
		expect(refused(['orcid'])).toMatch(/^allow must be an object/);
		expect(refused({ providers: [] })).toMatch(/^allow\.providers must list provider ids/);
		expect(refused({ providers: ['ORCID'] })).toMatch(/^allow\.providers/);
		expect(refused({ providers: ['email'] })).toMatch(/^allow\.providers/);
		expect(refused({ email_domains: ['@lab.example'] })).toBe(
			'allow.email_domains must list domains such as "lab.example" (no "@"; a subdomain is listed by itself)'
		);
		expect(refused({ email_domains: 'lab.example' })).toMatch(/^allow\.email_domains/);
		expect(refused({ email_domains: ['localhost'] })).toMatch(/^allow\.email_domains/);
		expect(refused({ groups: [''] })).toMatch(/^allow\.groups/);
		expect(refused({ groups: [' acme'] })).toMatch(/^allow\.groups/);
		expect(refused({ subjects: ['583231'] })).toMatch(/^allow\.subjects/);
		expect(refused({ subjects: ['github:'] })).toMatch(/^allow\.subjects/);
	});
});
