// The CLI's credentials file: one JSON document holding the tokens of every
// doorcode server this user has logged in to, readable by the user alone.
//
//   ${XDG_CONFIG_HOME or ~/.config}/doorcode/credentials.json   (mode 0600)
//   { "servers": { "<server origin>": { client_id, access_token, ... } } }

import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { JWK } from 'jose';

export type ServerCredentials = {
	client_id: string;
	access_token: string;
	refresh_token?: string;
	token_type: string;
	scope?: string;
	/** When the access token expires, epoch milliseconds. */
	expires_at: number;
	token_endpoint: string;
	userinfo_endpoint: string;
	revocation_endpoint?: string;
	/** When these were stored (epoch ms): picks the default server for `whoami`. */
	saved_at?: number;
	/** The private key (an ES256 JWK) the tokens are bound to with DPoP (RFC 9449): as secret as they are. */
	dpop_key?: JWK;
};

export type CredentialsFile = { servers: Record<string, ServerCredentials> };

type Env = Record<string, string | undefined>;

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** The XDG base directory spec says a relative XDG_CONFIG_HOME is invalid and must be ignored. */
export function configDir(env: Env = process.env): string {
	const xdg = env.XDG_CONFIG_HOME;
	const base = xdg && xdg.startsWith('/') ? xdg : join(env.HOME || homedir(), '.config');
	return join(base, 'doorcode');
}

export function credentialsPath(env: Env = process.env): string {
	return join(configDir(env), 'credentials.json');
}

/**
 * Reads the file; a missing file is an empty one. A file that is not ours
 * (bad JSON, wrong shape) throws rather than being silently overwritten,
 * since it may hold another server's tokens.
 */
export async function loadCredentials(env: Env = process.env): Promise<CredentialsFile> {
	const path = credentialsPath(env);
	let text: string;
	try {
		text = await readFile(path, 'utf8');
	} catch (e) {
		if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { servers: {} };
		throw e;
	}
	await tightenMode(path);
	let data: unknown;
	try {
		data = JSON.parse(text);
	} catch {
		throw new Error(`${path} is not valid JSON; fix or delete it, then log in again`);
	}
	const servers = (data as { servers?: unknown } | null)?.servers;
	if (typeof servers !== 'object' || servers === null || Array.isArray(servers)) {
		throw new Error(`${path} has no "servers" object; fix or delete it, then log in again`);
	}
	return { servers: servers as Record<string, ServerCredentials> };
}

/**
 * Stores one server's credentials next to the others. Written to a 0600 temp
 * file in the same directory and renamed over the old one, so a crash never
 * leaves a half-written file and the tokens are never world-readable, not
 * even for a moment.
 */
export async function saveServerCredentials(server: string, creds: ServerCredentials, env: Env = process.env): Promise<string> {
	const file = await loadCredentials(env);
	file.servers[server] = { ...creds, saved_at: creds.saved_at ?? Date.now() };
	return writeCredentials(file, env);
}

export async function writeCredentials(file: CredentialsFile, env: Env = process.env): Promise<string> {
	const dir = configDir(env);
	await mkdir(dir, { recursive: true, mode: DIR_MODE });
	// mkdir's mode is filtered by the umask and ignored when the directory
	// already exists; the directory is ours alone, so set it explicitly.
	await chmod(dir, DIR_MODE);

	const path = credentialsPath(env);
	const tmp = join(dir, `.credentials.json.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
	// 'wx': never follow or reuse an existing file at the temp name.
	const handle = await open(tmp, 'wx', FILE_MODE);
	try {
		await handle.writeFile(JSON.stringify(file, null, 2) + '\n', 'utf8');
		await handle.chmod(FILE_MODE); // the umask could have narrowed open's mode, never widened; be exact anyway
		await handle.sync();
	} catch (e) {
		await handle.close();
		await rm(tmp, { force: true });
		throw e;
	}
	await handle.close();
	await rename(tmp, path);
	return path;
}

/**
 * Picks the stored server: the one asked for, else the most recently saved.
 * Returns undefined when nothing matches.
 */
export function pickServer(file: CredentialsFile, server?: string): { server: string; creds: ServerCredentials } | undefined {
	if (server !== undefined) {
		const creds = file.servers[server];
		return creds ? { server, creds } : undefined;
	}
	const entries = Object.entries(file.servers);
	if (entries.length === 0) return undefined;
	entries.sort(([, a], [, b]) => (b.saved_at ?? 0) - (a.saved_at ?? 0));
	const [name, creds] = entries[0];
	return { server: name, creds };
}

/** An older file, or one a user copied around, may be group/world readable: fix it. */
async function tightenMode(path: string): Promise<void> {
	const { mode } = await stat(path);
	if ((mode & 0o777) !== FILE_MODE) await chmod(path, FILE_MODE);
}

/** Forgets one server's tokens, keeping every other server's. */
export async function removeServerCredentials(server: string, env: Env = process.env): Promise<boolean> {
	const file = await loadCredentials(env);
	if (!(server in file.servers)) return false;
	delete file.servers[server];
	await writeCredentials(file, env);
	return true;
}
