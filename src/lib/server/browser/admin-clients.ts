import { DEFAULT_GRANT_TYPES, DEVICE_CODE_GRANT_TYPE, GRANT_TYPES, type ClientManager } from '../core/clients';
import type { Services } from '../core/services';
import { addClient, changeClient, listClients, type ClientChangeResult, type ClientEditor, type ClientRefusal } from '../oauth/client-registry';
import type { StoredClient } from '../store/store';

/**
 * /admin/clients: the admins' side of the clients at run time. The page's fields become a
 * declaration by SPEC's names and go through client-registry.ts (the one parse, audited
 * with the admin's sub); a client CLIENTS_FILE manages is only shown.
 */

/** Every field of the client form, as the page shows and sends it back: text, as typed. */
export interface ClientFormValues {
	id: string;
	name: string;
	type: 'public' | 'confidential';
	scopes: string;
	grantTypes: string[];
	redirectUris: string;
	allowProviders: string;
	allowEmailDomains: string;
	allowGroups: string;
	allowSubjects: string;
	accessTokenFormat: 'opaque' | 'jwt';
	audience: string;
	accessTokenTtl: string;
	refreshTokenTtl: string;
	deviceCodeTtl: string;
	pollInterval: string;
	addressMismatch: 'warn' | 'refuse';
	dpopBoundAccessTokens: boolean;
}

/** What a new client's form starts with: SPEC's defaults. */
export const NEW_CLIENT_VALUES: ClientFormValues = {
	id: '',
	name: '',
	type: 'public',
	scopes: '',
	grantTypes: [...DEFAULT_GRANT_TYPES],
	redirectUris: '',
	allowProviders: '',
	allowEmailDomains: '',
	allowGroups: '',
	allowSubjects: '',
	accessTokenFormat: 'opaque',
	audience: '',
	accessTokenTtl: '',
	refreshTokenTtl: '',
	deviceCodeTtl: '',
	pollInterval: '',
	addressMismatch: 'warn',
	dpopBoundAccessTokens: false
};

/** The grants the form offers, each with the name a person reads. */
export const GRANT_CHOICES = GRANT_TYPES.map((grant) => ({
	value: grant,
	label: grant === DEVICE_CODE_GRANT_TYPE ? 'Device code' : grant === 'refresh_token' ? 'Refresh token' : 'Authorization code'
}));

/** A stored client in the form's fields. */
export function formValuesOf(client: StoredClient): ClientFormValues {
	const seconds = (value: number | undefined) => (value === undefined ? '' : String(value));
	return {
		id: client.id,
		name: client.name,
		type: client.type,
		scopes: client.scopes.join(' '),
		grantTypes: [...(client.grantTypes ?? DEFAULT_GRANT_TYPES)],
		redirectUris: (client.redirectUris ?? []).join('\n'),
		allowProviders: (client.allow?.providers ?? []).join(' '),
		allowEmailDomains: (client.allow?.emailDomains ?? []).join(' '),
		allowGroups: (client.allow?.groups ?? []).join(' '),
		allowSubjects: (client.allow?.subjects ?? []).join(' '),
		accessTokenFormat: client.accessTokenFormat ?? 'opaque',
		audience: client.audience ?? '',
		accessTokenTtl: seconds(client.accessTokenTtlSeconds),
		refreshTokenTtl: seconds(client.refreshTokenTtlSeconds),
		deviceCodeTtl: seconds(client.deviceCodeTtlSeconds),
		pollInterval: seconds(client.pollIntervalSeconds),
		addressMismatch: client.addressMismatch ?? 'warn',
		dpopBoundAccessTokens: client.dpopBoundAccessTokens ?? false
	};
}

/** The form's fields as posted; anything missing or of another kind reads as empty. */
export function formValuesFrom(form: FormData): ClientFormValues {
	const text = (name: string) => {
		const value = form.get(name);
		return typeof value === 'string' ? value.slice(0, 4000) : '';
	};
	return {
		id: text('id').trim(),
		name: text('name'),
		type: text('type') === 'confidential' ? 'confidential' : 'public',
		scopes: text('scopes'),
		grantTypes: form.getAll('grant_types').filter((value): value is string => typeof value === 'string'),
		redirectUris: text('redirect_uris'),
		allowProviders: text('allow_providers'),
		allowEmailDomains: text('allow_email_domains'),
		allowGroups: text('allow_groups'),
		allowSubjects: text('allow_subjects'),
		accessTokenFormat: text('access_token_format') === 'jwt' ? 'jwt' : 'opaque',
		audience: text('audience'),
		accessTokenTtl: text('access_token_ttl'),
		refreshTokenTtl: text('refresh_token_ttl'),
		deviceCodeTtl: text('device_code_ttl'),
		pollInterval: text('poll_interval'),
		addressMismatch: text('address_mismatch') === 'refuse' ? 'refuse' : 'warn',
		dpopBoundAccessTokens: form.get('dpop_bound_access_tokens') === 'on'
	};
}

/** The form as a declaration by SPEC's names, for the one parse: an empty field leaves its setting to the server's default. */
function declarationOf(values: ClientFormValues): Record<string, unknown> {
	const list = (text: string) => text.split(/[\s,]+/).filter(Boolean);
	const optional = (text: string) => (text.trim() === '' ? undefined : text.trim());
	// A number when it is one; else the text, which the parse refuses naming the setting.
	const seconds = (text: string) => (text.trim() === '' ? undefined : /^\d{1,9}$/.test(text.trim()) ? Number(text.trim()) : text.trim());
	const allow = {
		providers: list(values.allowProviders),
		email_domains: list(values.allowEmailDomains),
		groups: list(values.allowGroups),
		subjects: list(values.allowSubjects)
	};
	const allowGiven = Object.entries(allow).filter(([, entries]) => entries.length > 0);
	return {
		id: values.id,
		name: values.name,
		type: values.type,
		scopes: list(values.scopes),
		grant_types: values.grantTypes,
		redirect_uris: values.redirectUris.trim() === '' ? undefined : list(values.redirectUris),
		allow: allowGiven.length === 0 ? undefined : Object.fromEntries(allowGiven),
		access_token_format: values.accessTokenFormat === 'jwt' ? 'jwt' : undefined,
		audience: optional(values.audience),
		access_token_ttl: seconds(values.accessTokenTtl),
		refresh_token_ttl: seconds(values.refreshTokenTtl),
		device_code_ttl: seconds(values.deviceCodeTtl),
		poll_interval: seconds(values.pollInterval),
		address_mismatch: values.addressMismatch === 'refuse' ? 'refuse' : undefined,
		dpop_bound_access_tokens: values.dpopBoundAccessTokens ? true : undefined
	};
}

/** One row of the list. */
export interface ClientRow {
	id: string;
	name: string;
	type: 'public' | 'confidential';
	scopes: string;
	managedBy: ClientManager;
	disabled: boolean;
	updatedAt: number;
	updatedBy: string;
}

export async function clientRows(services: Services, search: string): Promise<ClientRow[]> {
	return (await listClients(services, search)).map((client) => ({
		id: client.id,
		name: client.name,
		type: client.type,
		scopes: client.scopes.join(' '),
		managedBy: client.managedBy,
		disabled: client.disabledAt !== null,
		updatedAt: client.updatedAt,
		updatedBy: client.updatedBy
	}));
}

/** One client for its page: its settings in the form's fields, and what the page says of it. */
export async function clientPage(services: Services, id: string) {
	const client = await services.store.findClient(id);
	if (!client) return null;
	return {
		id: client.id,
		name: client.name,
		type: client.type,
		managedBy: client.managedBy,
		disabled: client.disabledAt !== null,
		createdAt: client.createdAt,
		updatedAt: client.updatedAt,
		updatedBy: client.updatedBy,
		values: formValuesOf(client)
	};
}

/** What deleting a client would end: its live grants. */
export async function deletionPreview(services: Services, id: string) {
	const client = await services.store.findClient(id);
	if (!client) return null;
	return { id: client.id, name: client.name, managedBy: client.managedBy, liveGrants: await services.store.countLiveGrants(id) };
}

export function createClientAsAdmin(services: Services, admin: ClientEditor, values: ClientFormValues, now: number): Promise<ClientChangeResult> {
	return addClient(services, admin, declarationOf(values), 'admin', now);
}

export function editClientAsAdmin(services: Services, admin: ClientEditor, values: ClientFormValues, now: number): Promise<ClientChangeResult> {
	return changeClient(services, admin, declarationOf(values), now);
}

/** A refusal as the page says it: what did not happen, and why ("Not saved: scopes must be …."). */
export function refusalSentence(lead: string, { message }: ClientRefusal): string {
	return `${lead}: ${message}${/[.!?]$/.test(message) ? '' : '.'}`;
}
