import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseClient, type Client } from '../core/clients';
import type { RequestContext, Services } from '../core/services';
import { approveOnBehalf } from '../browser/admin';
import { approveOwnDevice, openConfirmation } from '../browser/confirmation';
import { actor, context, testServices, type TestServices } from '../../../../tests/support/test-services';
import { addClient, changeClient, disableClient, enableClient, listClients, removeClient, rotateClientSecret } from './client-registry';
import { deviceAuthorizationEndpoint, introspectionEndpoint, revocationEndpoint, tokenEndpoint, userinfoEndpoint } from './endpoints';
import { approveDeviceAuthorization } from './device-authorizations';
import { normalizeUserCode } from './user-code';

/**
 * The clients at run time (SPEC "Clients at run time"): made, changed, disabled, rotated and
 * removed while doorcode runs, each seen by the instance that made the change at once and by
 * another instance on the same database within 2 seconds, and each client's policy applied.
 */

let services: TestServices;
const T0 = 1_800_000_000_000;
const OPERATOR = { actor: 'operator', ip: null };
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const FILE_CLIENT: Client = { id: 'file-cli', name: 'File CLI', type: 'public', scopes: ['read'] };

beforeEach(async () => {
	// The loops below ask again and again until a change shows: no limit of doorcode's in the way.
	services = await testServices({ clients: [FILE_CLIENT], rateLimits: false });
});
afterEach(() => services.dispose());

const at = (now: number, authorization: string | null = null): RequestContext => ({ ...context(now), authorization });
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const askForCode = (on: Services, fields: Record<string, string>, now = T0, authorization: string | null = null) =>
	deviceAuthorizationEndpoint(on, new Map(Object.entries(fields)), at(now, authorization));
const token = (on: Services, fields: Record<string, string>, now: number, authorization: string | null = null) =>
	tokenEndpoint(on, new Map(Object.entries(fields)), at(now, authorization));

/** A device login of `clientId` approved by Josiah Carberry, and what the CLI then collects. */
async function login(clientId: string, now = T0, authorization: string | null = null) {
	const created = await askForCode(services, { client_id: clientId }, now, authorization);
	expect(created.status).toBe(200);
	const { device_code, user_code } = created.body as { device_code: string; user_code: string };
	const owner = await services.store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: null, email: null }, now);
	const userCode = normalizeUserCode(user_code) as string;
	await approveDeviceAuthorization(services, actor(owner), { userCode, ownerId: owner.id, ownerSub: owner.sub, grantedScope: 'read', label: null }, now);
	const answer = await token(services, { grant_type: DEVICE_GRANT, device_code, client_id: clientId }, now + 1_000, authorization);
	return answer.body as { access_token: string; refresh_token?: string; expires_in: number };
}

/** Milliseconds until `check` holds, asked every 50 ms for at most 5 s. */
async function millisecondsUntil(check: () => Promise<boolean>): Promise<number> {
	const started = Date.now();
	while (!(await check())) {
		if (Date.now() - started > 5_000) throw new Error('not within 5 seconds');
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	return Date.now() - started;
}

describe('changing clients while doorcode runs', () => {
	it('a client the operator adds serves codes at once on this instance, and on another within 2 seconds', async () => {
		const other = await services.anotherInstance();
		expect((await askForCode(other, { client_id: 'new-cli' })).body).toMatchObject({ error: 'invalid_client' });
		const added = await addClient(services, OPERATOR, { id: 'new-cli', name: 'New CLI', type: 'public', scopes: ['read'] }, 'admin', T0);
		expect(added).toMatchObject({ ok: true, secret: null, client: { id: 'new-cli', managedBy: 'admin', updatedBy: 'operator' } });
		expect((await askForCode(services, { client_id: 'new-cli' })).status).toBe(200);
		expect(await millisecondsUntil(async () => (await askForCode(other, { client_id: 'new-cli' })).status === 200)).toBeLessThan(2_000);
		expect(await services.store.listAudit(10, 0)).toContainEqual(expect.objectContaining({ actor: 'operator', action: 'client.created', clientId: 'new-cli' }));
	});

	it('a confidential client gets a secret shown once and stored only as its hash; a rotated one is refused at once here and within 2 s elsewhere', async () => {
		const other = await services.anotherInstance();
		const added = await addClient(services, OPERATOR, { id: 'acme-api', name: 'Acme API', type: 'confidential', scopes: ['read'] }, 'admin', T0);
		if (!added.ok || !added.secret) throw new Error('no secret');
		const first = added.secret;
		expect(first).toMatch(/^dcs_[A-Za-z0-9_-]{43}$/);
		expect(await services.storedText()).not.toContain(first);
		await millisecondsUntil(async () => (await askForCode(other, { client_id: 'acme-api' }, T0, basic('acme-api', first))).status === 200);

		const rotated = await rotateClientSecret(services, OPERATOR, 'acme-api', T0 + 1_000);
		if (!rotated.ok || !rotated.secret) throw new Error('no new secret');
		expect(rotated.secret).not.toBe(first);
		expect(await askForCode(services, { client_id: 'acme-api' }, T0, basic('acme-api', first))).toMatchObject({
			status: 401,
			body: { error: 'invalid_client', error_description: 'Client authentication failed.' }
		});
		expect((await askForCode(services, { client_id: 'acme-api' }, T0, basic('acme-api', rotated.secret))).status).toBe(200);
		const refusedElsewhere = await millisecondsUntil(
			async () => (await askForCode(other, { client_id: 'acme-api' }, T0, basic('acme-api', first))).status === 401
		);
		expect(refusedElsewhere).toBeLessThan(2_000);
		expect((await askForCode(other, { client_id: 'acme-api' }, T0, basic('acme-api', rotated.secret))).status).toBe(200);
		expect(await services.storedText()).not.toContain(rotated.secret);
		expect(await rotateClientSecret(services, OPERATOR, 'file-cli', T0)).toMatchObject({ ok: false, reason: 'managed_by_file' });
	});

	it('a disabled client gets invalid_client at every endpoint and its tokens stop working; enabled again, they work', async () => {
		const added = await addClient(services, OPERATOR, { id: 'api', name: 'API', type: 'confidential', scopes: ['read'] }, 'admin', T0);
		if (!added.ok || !added.secret) throw new Error('no secret');
		const credentials = basic('api', added.secret);
		const tokens = await login('api', T0, credentials);
		const disabled = await disableClient(services, OPERATOR, 'api', T0 + 2_000);
		expect(disabled).toMatchObject({ ok: true, client: { disabledAt: T0 + 2_000 } });

		const refused = { error: 'invalid_client', error_description: 'Unknown or disabled client.' };
		const now = T0 + 3_000;
		expect((await askForCode(services, { client_id: 'api' }, now, credentials)).body).toEqual(refused);
		expect((await token(services, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, now, credentials)).body).toEqual(refused);
		expect((await token(services, { grant_type: DEVICE_GRANT, device_code: 'any' }, now, credentials)).body).toEqual(refused);
		expect((await revocationEndpoint(services, new Map([['token', tokens.access_token]]), at(now, credentials))).body).toEqual(refused);
		expect((await introspectionEndpoint(services, new Map([['token', tokens.access_token]]), at(now, credentials))).body).toEqual(refused);
		expect(await userinfoEndpoint(services, at(now, `Bearer ${tokens.access_token}`))).toMatchObject({ status: 401, body: { error: 'invalid_token' } });

		expect(await enableClient(services, OPERATOR, 'api', T0 + 4_000)).toMatchObject({ ok: true, client: { disabledAt: null } });
		expect((await userinfoEndpoint(services, at(T0 + 5_000, `Bearer ${tokens.access_token}`))).status).toBe(200);
		const actions = (await services.store.listAudit(20, 0)).filter((row) => row.clientId === 'api').map((row) => [row.actor, row.action]);
		expect(actions).toEqual(
			expect.arrayContaining([
				['operator', 'client.disabled'],
				['operator', 'client.enabled']
			])
		);
	});

	it('removing a client revokes its grants: its tokens stop working and the audit log says who did it and how many', async () => {
		await addClient(services, OPERATOR, { id: 'gone-cli', name: 'Gone', type: 'public', scopes: ['read'] }, 'admin', T0);
		const tokens = await login('gone-cli');
		expect(await removeClient(services, OPERATOR, 'gone-cli', T0 + 2_000)).toEqual({ ok: true, revokedGrants: 1 });
		expect((await userinfoEndpoint(services, at(T0 + 3_000, `Bearer ${tokens.access_token}`))).status).toBe(401);
		// Made again under the same id, it does not bring the old login back.
		await addClient(services, OPERATOR, { id: 'gone-cli', name: 'Gone', type: 'public', scopes: ['read'] }, 'admin', T0 + 4_000);
		expect((await userinfoEndpoint(services, at(T0 + 5_000, `Bearer ${tokens.access_token}`))).status).toBe(401);
		expect(await services.store.listAudit(10, 0)).toContainEqual(
			expect.objectContaining({ actor: 'operator', action: 'client.deleted', clientId: 'gone-cli', detail: '1 grant revoked' })
		);
		expect(await removeClient(services, OPERATOR, 'nobody', T0)).toMatchObject({ ok: false, reason: 'not_found' });
	});

	it('a client CLIENTS_FILE manages is only listed: every change is refused, saying to change the file', async () => {
		const refusal = { ok: false, reason: 'managed_by_file', message: '"file-cli" is managed by CLIENTS_FILE: change it there, then restart' };
		expect(await disableClient(services, OPERATOR, 'file-cli', T0)).toEqual(refusal);
		expect(await enableClient(services, OPERATOR, 'file-cli', T0)).toEqual(refusal);
		expect(await removeClient(services, OPERATOR, 'file-cli', T0)).toEqual(refusal);
		expect(await changeClient(services, OPERATOR, { ...FILE_CLIENT, scopes: ['read', 'write'] }, T0)).toEqual(refusal);
		expect(await addClient(services, OPERATOR, { ...FILE_CLIENT }, 'admin', T0)).toMatchObject({ ok: false, reason: 'id_taken' });
		expect((await listClients(services, 'FILE')).map((client) => [client.id, client.managedBy])).toEqual([['file-cli', 'file']]);
	});

	it('bad settings are refused naming the setting, through the same parse as CLIENTS_FILE', async () => {
		expect(await addClient(services, OPERATOR, { id: 'x', name: 'X', type: 'public', scopes: [], poll_interval: 0 }, 'admin', T0)).toEqual({
			ok: false,
			reason: 'invalid',
			message: 'poll_interval must be a whole number of seconds from 1 to 300'
		});
		expect(await addClient(services, OPERATOR, { id: 'x', name: 'X', type: 'public', scopes: [], scope: 'read' }, 'admin', T0)).toEqual({
			ok: false,
			reason: 'invalid',
			message: 'unknown setting scope'
		});
		expect((await listClients(services, '')).map((client) => client.id)).toEqual(['file-cli']);
	});

	it('changing a client replaces its settings; made confidential it gets a secret once, and it keeps that secret through later changes', async () => {
		await addClient(services, OPERATOR, { id: 'cli', name: 'CLI', type: 'public', scopes: ['read'] }, 'admin', T0);
		const confidential = await changeClient(services, OPERATOR, { id: 'cli', name: 'CLI', type: 'confidential', scopes: ['read'] }, T0 + 1);
		if (!confidential.ok || !confidential.secret) throw new Error('no secret');
		const renamed = await changeClient(services, OPERATOR, { id: 'cli', name: 'Renamed', type: 'confidential', scopes: ['read'], poll_interval: 7 }, T0 + 2);
		expect(renamed).toMatchObject({
			ok: true,
			secret: null,
			client: { name: 'Renamed', pollIntervalSeconds: 7, secretSha256: confidential.client.secretSha256 }
		});
		expect((await askForCode(services, { client_id: 'cli' }, T0, basic('cli', confidential.secret))).body).toMatchObject({ interval: 7 });
	});
});

describe("a client's policy", () => {
	const add = (settings: Record<string, unknown>) =>
		addClient(services, OPERATOR, { id: 'policy-cli', name: 'Policy CLI', type: 'public', scopes: ['read'], ...settings }, 'admin', T0);

	it('device_code_ttl and poll_interval set its codes’ life and pace instead of DEVICE_CODE_TTL and POLL_INTERVAL', async () => {
		await add({ device_code_ttl: 30, poll_interval: 2 });
		const created = await askForCode(services, { client_id: 'policy-cli' });
		expect(created.body).toMatchObject({ expires_in: 30, interval: 2 });
		const deviceCode = (created.body as { device_code: string }).device_code;
		const poll = (now: number) => token(services, { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: 'policy-cli' }, now);
		expect((await poll(T0 + 1_000)).body).toMatchObject({ error: 'authorization_pending' });
		expect((await poll(T0 + 2_000)).body).toMatchObject({ error: 'slow_down' });
		expect((await poll(T0 + 30_000)).body).toMatchObject({ error: 'expired_token' });
		// Another client keeps the server's own.
		expect((await askForCode(services, { client_id: 'file-cli' })).body).toMatchObject({ expires_in: 600, interval: 5 });
	});

	it('grant_types: a grant it does not list answers unauthorized_client, and without refresh_token it gets no refresh token', async () => {
		await add({ grant_types: [DEVICE_GRANT] });
		const tokens = await login('policy-cli');
		expect(tokens).not.toHaveProperty('refresh_token');
		expect((await token(services, { grant_type: 'refresh_token', refresh_token: 'dcr_any', client_id: 'policy-cli' }, T0 + 2_000)).body).toEqual({
			error: 'unauthorized_client',
			error_description: 'This client may not use grant_type refresh_token.'
		});
		await removeClient(services, OPERATOR, 'policy-cli', T0);
		await add({ grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['http://127.0.0.1/callback'] });
		expect(await askForCode(services, { client_id: 'policy-cli' })).toMatchObject({
			status: 400,
			body: { error: 'unauthorized_client', error_description: 'This client may not use the device flow: its grant_types do not include it.' }
		});
	});

	it('access_token_ttl and refresh_token_ttl set how long its tokens live', async () => {
		await add({ access_token_ttl: 120, refresh_token_ttl: 600 });
		const tokens = await login('policy-cli');
		expect(tokens.expires_in).toBe(120);
		const refresh = (now: number) => token(services, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: 'policy-cli' }, now);
		expect((await userinfoEndpoint(services, at(T0 + 1_000 + 119_000, `Bearer ${tokens.access_token}`))).status).toBe(200);
		expect((await userinfoEndpoint(services, at(T0 + 1_000 + 120_000, `Bearer ${tokens.access_token}`))).status).toBe(401);
		expect((await refresh(T0 + 1_000 + 600_000)).body).toMatchObject({ error: 'invalid_grant' });
		expect((await refresh(T0 + 1_000 + 599_000)).status).toBe(200);
	});

	it('address_mismatch "refuse": from another network a code can only be denied, the page saying so; from its own network it is approved', async () => {
		await add({ address_mismatch: 'refuse' });
		const person = await services.store.upsertUser({ sub: 'orcid:0000-0002-1825-0097', provider: 'orcid', name: null, email: null }, T0);
		const user = { id: person.id, sub: person.sub, name: null, email: null, provider: 'orcid', groups: [], isAdmin: false };
		const farBrowser = { userId: person.id, sub: person.sub, ip: '198.51.100.4' };
		const nearBrowser = { userId: person.id, sub: person.sub, ip: '192.0.2.7' };
		const code = async () => {
			const created = (await askForCode(services, { client_id: 'policy-cli' })).body as { user_code: string };
			return normalizeUserCode(created.user_code) as string;
		};
		// The code is asked for from 192.0.2.7 (test-services' context); this browser is elsewhere.
		const far = await code();
		const opened = await openConfirmation(services, far, user, farBrowser, T0, { recordRefusal: true });
		expect(opened).toMatchObject({ ok: true, view: { addressMismatch: true, addressRefusal: true, refusal: null } });
		expect(await approveOwnDevice(services, user, farBrowser, far, T0)).toEqual({
			ok: false,
			refusal: 'The client accepts approval only from the network that asked for the code (192.0.2.7).'
		});
		expect(await services.store.findLiveDeviceAuthorization(far, T0)).toMatchObject({ status: 'pending' });
		expect(await services.store.listAudit(10, 0)).toContainEqual(expect.objectContaining({ action: 'device.approve_refused', userCode: far }));
		expect(await approveOnBehalf(services, farBrowser, { userCode: far, owner: 'tech@lab.example', label: '', scopes: ['read'] }, T0)).toEqual({
			ok: false,
			message: 'Policy CLI accepts approval only from the network that asked for the code (192.0.2.7): deny it, or approve it from there.'
		});

		const near = await code();
		expect(await openConfirmation(services, near, user, nearBrowser, T0, { recordRefusal: true })).toMatchObject({
			ok: true,
			view: { addressMismatch: false, addressRefusal: false }
		});
		expect(await approveOwnDevice(services, user, nearBrowser, near, T0)).toMatchObject({ ok: true });
	});

	it('every setting a client may have is stored and read back as written, and its declaration parses back into it', async () => {
		const declaration = {
			id: 'every-cli',
			name: 'Every CLI',
			type: 'public',
			scopes: ['openid', 'read'],
			grant_types: [DEVICE_GRANT, 'refresh_token', 'authorization_code'],
			redirect_uris: ['http://[::1]/callback', 'https://every.example/callback'],
			access_token_format: 'jwt',
			audience: 'https://api.every.example',
			access_token_ttl: 300,
			refresh_token_ttl: 3_600,
			device_code_ttl: 120,
			poll_interval: 3,
			address_mismatch: 'warn'
		};
		const added = await addClient(services, OPERATOR, declaration, 'registration', T0);
		expect(added.ok && added.client).toEqual({
			...(parseClient(declaration) as Client),
			managedBy: 'registration',
			disabledAt: null,
			createdAt: T0,
			updatedAt: T0,
			updatedBy: 'operator'
		});
		expect(services.clients.get('every-cli')).toEqual(added.ok && added.client);
	});
});
