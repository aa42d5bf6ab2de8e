import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import Database from 'better-sqlite3';
import type { TestServer } from './servers.ts';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** openid-client, a real RFC 8628 client, configured from doorcode's RFC 8414 metadata. */
export async function discover(server: TestServer, clientId = 'demo-cli'): Promise<client.Configuration> {
	return client.discovery(new URL(server.origin), clientId, undefined, client.None(), {
		algorithm: 'oauth2',
		execute: [client.allowInsecureRequests]
	});
}

export async function form(server: TestServer, path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
	const response = await fetch(`${server.origin}${path}`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
		body: new URLSearchParams(fields)
	});
	return { status: response.status, headers: response.headers, body: await response.json() };
}

export async function requestCode(server: TestServer, fields: Record<string, string> = { client_id: 'demo-cli' }) {
	const response = await form(server, '/oauth/device_authorization', fields);
	if (response.status !== 200) throw new Error(`device authorization failed: ${JSON.stringify(response.body)}`);
	return response.body as {
		device_code: string;
		user_code: string;
		verification_uri: string;
		verification_uri_complete: string;
		expires_in: number;
		interval: number;
	};
}

export function poll(server: TestServer, deviceCode: string, clientId = 'demo-cli') {
	return form(server, '/oauth/token', { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: clientId });
}

/** Reads the server's own SQLite file (read-only), to assert the stored state. */
export function readDatabase<T>(server: Pick<TestServer, 'databasePath'>, query: (db: Database.Database) => T): T {
	const db = new Database(server.databasePath, { readonly: true, fileMustExist: true });
	try {
		return query(db);
	} finally {
		db.close();
	}
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A device login approved in the browser, and the tokens the CLI then collects. */
export async function approvedTokens(page: import('@playwright/test').Page, server: TestServer, clientId = 'demo-cli') {
	const { signInAndDecide } = await import('./pages.ts');
	const code = await requestCode(server, { client_id: clientId });
	await signInAndDecide(page, code.user_code);
	await sleep(1100);
	const answer = await poll(server, code.device_code, clientId);
	if (answer.status !== 200) throw new Error(`no tokens: ${JSON.stringify(answer.body)}`);
	return answer.body as { access_token: string; refresh_token: string; scope: string; expires_in: number };
}

export const ACME_API_BASIC = { Authorization: `Basic ${Buffer.from('acme-api:acme-secret').toString('base64')}` };

export function userinfo(server: TestServer, accessToken: string) {
	return fetch(`${server.origin}/oauth/userinfo`, { headers: { Authorization: `Bearer ${accessToken}` } });
}

/** PKCE (RFC 7636): a new code_verifier and its S256 code_challenge. */
export function pkce() {
	const verifier = randomBytes(32).toString('base64url');
	return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** An authorization request's query with PKCE S256, answered at `redirectUri`, by demo-cli unless `extra` names another client; and its code_verifier. */
export function authorizationRequest(redirectUri: string, state: string, extra: Record<string, string> = {}) {
	const { verifier, challenge } = pkce();
	const query = new URLSearchParams({
		response_type: 'code',
		client_id: 'demo-cli',
		redirect_uri: redirectUri,
		state,
		code_challenge: challenge,
		code_challenge_method: 'S256',
		...extra
	});
	return { verifier, query };
}
