/**
 * Who may approve a code for a client (SPEC "Who may approve"): a client's `allow`, or
 * CLIENTS_FILE's top-level default. A plain value, so a client kept in the database
 * carries it as well as one read from the file.
 */
export interface ApprovalRule {
	/** Provider ids (`orcid`, `clerk`, a PROVIDERS_FILE id): the person signed in with one of them. */
	providers?: string[];
	/** Domains, lower-cased: a verified email address at exactly one of them. */
	emailDomains?: string[];
	/** Groups exactly as the provider names them (`acme`, `acme/platform`). */
	groups?: string[];
	/** `sub`s; `email:<address>` also names whoever has that verified address. */
	subjects?: string[];
}

/**
 * A person as the rule sees them. Null where it cannot be known: an owner an admin named
 * by email address has signed in with no provider yet, and no provider has named their groups.
 */
export interface Approver {
	sub: string;
	provider: string | null;
	/** Verified addresses only. */
	email: string | null;
	groups: string[] | null;
}

export type RuleVerdict = { admitted: true } | { admitted: false; reason: string };

/** The provider of an owner an admin named by email address (sub `email:<address>`). */
export const EMAIL_OWNER_PROVIDER = 'email';

/** A person as they signed in, or as stored: an owner an admin named, a grant's owner at refresh. */
export interface Person {
	sub: string;
	provider: string;
	email: string | null;
	groups: string[];
}

/** A person as the rule sees them; an owner named by address is known only by it. */
export function approverOf(person: Person): Approver {
	if (person.provider === EMAIL_OWNER_PROVIDER) return { sub: person.sub, provider: null, email: person.email, groups: null };
	return { sub: person.sub, provider: person.provider, email: person.email, groups: person.groups };
}

const RULE_KEYS = ['providers', 'email_domains', 'groups', 'subjects'];
const PROVIDER_ID = /^[a-z0-9-]{1,32}$/;
const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/;
const SUBJECT = /^[a-z0-9-]{1,32}:[^\s\p{Cc}]{1,255}$/u;

/** A rule as CLIENTS_FILE writes it (snake_case); `unknownKeys` are named in a start-up warning. */
export type ParsedRule = { ok: true; rule: ApprovalRule; unknownKeys: string[] } | { ok: false; error: string };

/** Parses an `allow` object; every list given must hold at least one entry, or no one could approve. */
export function parseApprovalRule(value: unknown): ParsedRule {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		return { ok: false, error: 'allow must be an object such as {"providers": ["github"], "email_domains": ["lab.example"]}' };
	}
	const { providers, email_domains, groups, subjects } = value as Record<string, unknown>;
	const rule: ApprovalRule = {};
	if (providers !== undefined) {
		if (!isList(providers, (id) => PROVIDER_ID.test(id) && id !== EMAIL_OWNER_PROVIDER)) {
			return { ok: false, error: 'allow.providers must list provider ids such as "orcid", "clerk" or a PROVIDERS_FILE id' };
		}
		rule.providers = unique(providers);
	}
	if (email_domains !== undefined) {
		const domains = Array.isArray(email_domains) ? email_domains.map((domain) => (typeof domain === 'string' ? domain.trim().toLowerCase() : domain)) : null;
		if (!isList(domains, (domain) => DOMAIN.test(domain))) {
			return { ok: false, error: 'allow.email_domains must list domains such as "lab.example" (no "@"; a subdomain is listed by itself)' };
		}
		rule.emailDomains = unique(domains);
	}
	if (groups !== undefined) {
		if (!isList(groups, (group) => group.trim() === group && group.length > 0 && group.length <= 200 && !/\p{Cc}/u.test(group))) {
			return { ok: false, error: 'allow.groups must list group names such as "acme" or "acme/platform", as the provider names them' };
		}
		rule.groups = unique(groups);
	}
	if (subjects !== undefined) {
		if (!isList(subjects, (sub) => SUBJECT.test(sub))) {
			return { ok: false, error: 'allow.subjects must list subs such as "orcid:0000-0002-1825-0097", "github:583231" or "email:tech@lab.example"' };
		}
		rule.subjects = unique(subjects.map((sub) => (sub.startsWith('email:') ? sub.toLowerCase() : sub)));
	}
	return { ok: true, rule, unknownKeys: Object.keys(value).filter((key) => !RULE_KEYS.includes(key)) };
}

/** A rule as CLIENTS_FILE writes it: what parseApprovalRule reads back into the same rule. */
export function approvalRuleDeclaration({ providers, emailDomains, groups, subjects }: ApprovalRule): Record<string, string[]> {
	const declaration = { providers, email_domains: emailDomains, groups, subjects };
	return Object.fromEntries(Object.entries(declaration).filter((entry): entry is [string, string[]] => entry[1] !== undefined));
}

function isList(value: unknown, valid: (item: string) => boolean): value is string[] {
	return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' && valid(item));
}

function unique(items: string[]): string[] {
	return [...new Set(items)];
}

type ProviderName = (id: string) => string;

/**
 * A person may approve when `providers` (if given) names their provider and, if any of
 * `emailDomains`, `groups`, `subjects` is given, they match at least one entry. What
 * cannot be known (an owner's provider before they sign in) is not held against them;
 * a match must be shown by what is known. No rule admits everyone.
 */
export function checkApprover(rule: ApprovalRule | undefined, approver: Approver, providerName: ProviderName = (id) => id): RuleVerdict {
	if (!rule) return { admitted: true };
	const { providers, emailDomains, groups, subjects } = rule;
	if (providers && approver.provider !== null && !providers.includes(approver.provider)) {
		return {
			admitted: false,
			reason: `Only accounts from ${alternatives(providers.map(providerName))} may approve for this application; this account is from ${providerName(approver.provider)}.`
		};
	}
	if (!emailDomains && !groups && !subjects) return { admitted: true };
	const domain = approver.email ? emailDomainOf(approver.email) : null;
	const matched =
		(domain !== null && emailDomains?.includes(domain)) ||
		approver.groups?.some((group) => groups?.includes(group)) ||
		subjects?.includes(approver.sub) ||
		(approver.email !== null && subjects?.includes(`email:${approver.email.toLowerCase()}`));
	if (matched) return { admitted: true };
	return { admitted: false, reason: [`Only ${admittedPeople(rule)} may approve for this application.`, ...whatIsKnown(rule, approver, domain)].join(' ') };
}

/** The rule in a line, for the admin pages. */
export function describeApprovalRule(rule: ApprovalRule | undefined, providerName: ProviderName = (id) => id): string {
	if (!rule) return 'anyone who can sign in';
	const from = rule.providers ? `accounts from ${alternatives(rule.providers.map(providerName))}` : null;
	if (!rule.emailDomains && !rule.groups && !rule.subjects) return from ?? 'anyone who can sign in';
	return from ? `${from}, and of those ${admittedPeople(rule)}` : admittedPeople(rule);
}

/** The part after the last @, lower-cased: domains match exactly, never a subdomain. */
function emailDomainOf(email: string): string {
	return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}

function admittedPeople({ emailDomains, groups, subjects }: ApprovalRule): string {
	const kinds: string[] = [];
	if (emailDomains) kinds.push(`people with a verified email address at ${alternatives(emailDomains)}`);
	if (groups) kinds.push(`members of ${alternatives(groups)}`);
	// The listed subs are people's own ids: counted, never shown to someone the rule refuses.
	if (subjects) kinds.push(subjects.length === 1 ? 'one account named by its id' : `${subjects.length} accounts named by their ids`);
	return alternatives(kinds);
}

function whatIsKnown({ emailDomains, groups }: ApprovalRule, approver: Approver, domain: string | null): string[] {
	const known: string[] = [];
	if (emailDomains) known.push(domain === null ? 'This account has no verified email address.' : `This account's verified email address is at ${domain}.`);
	if (groups) {
		if (approver.groups === null) known.push('Its groups cannot be known before it signs in.');
		else known.push(approver.groups.length === 0 ? 'Its provider names no groups for it.' : 'It is in none of those groups.');
	}
	return known;
}

function alternatives(items: string[]): string {
	return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
