// doorcode's reference CLI: logs in with a browser on this machine (the
// authorization code flow with PKCE and a loopback redirect, RFC 8252) when
// one can open, else with the OAuth 2.0 Device Authorization Grant (RFC 8628),
// and shows who the stored tokens belong to. Every login has a DPoP key of its
// own (RFC 9449), and its tokens are bound to it.
//
//   npm run login -- [--server URL] [--client ID] [--scope "read write"] [--device] [--no-qr]
//   npm run login -- whoami [--server URL]
//   npm run login -- logout [--server URL]
//
// What a person must read (the URL, the code, who they are logged in as)
// goes to stdout; progress and errors go to stderr. The device code, the
// authorization code and the tokens are never printed.

import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import qrcode from 'qrcode-terminal';
import { loadCredentials, pickServer, saveServerCredentials, type ServerCredentials } from './credentials.ts';
import {
	BadResponseError,
	decidePoll,
	describeNetworkError,
	displayName,
	fetchEndpoints,
	fetchUserinfo,
	isInsecureServer,
	normalizeServer,
	OAuthError,
	pollToken,
	requestDeviceCode,
	retryDelay,
	type DeviceAuthorization,
	type Endpoints,
	type TokenResponse,
	type Userinfo
} from './device-flow.ts';
import { createDpopKey, isDpopTokenType, type DpopKey } from './dpop.ts';
import { BROWSER_LOGIN_TIMEOUT_MS, canOpenBrowser, loginWithBrowser } from './loopback-flow.ts';
import { createProgress, type Progress } from './progress.ts';
import { dpopKeyOf, freshCredentials, logout, withCredentialsLock } from './session.ts';

export const DEFAULT_SERVER = 'http://localhost:3000';
export const DEFAULT_CLIENT = 'demo-cli';
/**
 * A server that keeps answering authorization_pending this long after the
 * code's expiry is not going to say expired_token; stop waiting.
 */
const EXPIRY_GRACE_MS = 30_000;

export const USAGE = `Usage:
  npm run login -- [--server URL] [--client ID] [--scope "SCOPES"] [--device] [--no-qr]
      Log in to a doorcode server: in a browser that opens on this computer when it
      can, else with a one-time code you enter in a browser on any device.
  npm run login -- whoami [--server URL]
      Show who the stored tokens belong to (refreshing them when they expire).
  npm run login -- logout [--server URL]
      Revoke the stored tokens on the server, then delete them here.

Options:
  --server URL    doorcode server (default: $DOORCODE_SERVER or ${DEFAULT_SERVER};
                  for whoami and logout: the server you last logged in to)
  --client ID     OAuth client id (default: ${DEFAULT_CLIENT})
  --scope SCOPES  space-separated scopes to ask for (default: the client's own)
  --device        log in with a one-time code even where a browser could open here
  --no-qr         do not print the QR code
  -h, --help      show this help

A browser opens here when there is a display (DISPLAY or WAYLAND_DISPLAY on Linux;
always on macOS and Windows) and the session is not over SSH; $BROWSER names the
command that opens it, if not the system's own. Over SSH, or on a machine without
a display, the login uses a one-time code.

Tokens are stored in \${XDG_CONFIG_HOME:-~/.config}/doorcode/credentials.json (mode 0600),
beside the DPoP key (ES256) each login makes and binds them to: every request proves it.
The access token is refreshed when it has a minute or less left; while one process
refreshes it holds credentials.json.lock, which others wait for (a lock left by a
process that died, or older than 30 s, is taken over).
`;

export type Command =
	| { kind: 'help' }
	| { kind: 'login'; server: string; clientId: string; scope?: string; qr: boolean; device: boolean }
	| { kind: 'whoami'; server?: string }
	| { kind: 'logout'; server?: string };

/** Bad command-line input: main prints it with the usage and exits 2. */
export class UsageError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'UsageError';
	}
}

type Env = Record<string, string | undefined>;

/** Parses argv (without node and the script) into a command. Throws UsageError. */
export function parseCommand(argv: string[], env: Env = process.env): Command {
	let parsed;
	try {
		parsed = parseArgs({
			args: argv,
			allowPositionals: true,
			strict: true,
			options: {
				server: { type: 'string' },
				client: { type: 'string' },
				scope: { type: 'string' },
				'no-qr': { type: 'boolean' },
				device: { type: 'boolean' },
				help: { type: 'boolean', short: 'h' }
			}
		});
	} catch (e) {
		// parseArgs' messages name the bad option; keep them.
		throw new UsageError((e as Error).message);
	}
	const { values, positionals } = parsed;
	if (values.help) return { kind: 'help' };

	const [name = 'login', ...extra] = positionals;
	if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
	const server = (raw: string) => {
		try {
			return normalizeServer(raw);
		} catch (e) {
			throw new UsageError((e as Error).message);
		}
	};

	if (name === 'whoami' || name === 'logout') {
		for (const flag of ['client', 'scope', 'no-qr', 'device'] as const) {
			if (values[flag] !== undefined) throw new UsageError(`--${flag} does not apply to ${name}`);
		}
		const chosen = values.server ?? env.DOORCODE_SERVER;
		return { kind: name, ...(chosen ? { server: server(chosen) } : {}) };
	}
	if (name !== 'login') throw new UsageError(`unknown command "${name}"`);

	const clientId = values.client ?? DEFAULT_CLIENT;
	if (clientId.trim() === '') throw new UsageError('--client must not be empty');
	// RFC 6749 §3.3: scopes are separated by single spaces.
	const scope = values.scope?.trim().split(/\s+/).filter(Boolean).join(' ');
	return {
		kind: 'login',
		server: server(values.server ?? env.DOORCODE_SERVER ?? DEFAULT_SERVER),
		clientId,
		...(scope ? { scope } : {}),
		qr: !values['no-qr'],
		device: values.device === true
	};
}

/** The command to suggest when the person has to start over. */
export function loginHint(server: string, clientId: string = DEFAULT_CLIENT): string {
	const quote = (arg: string) => (/^[\w.:/@%+=,-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);
	return `npm run login -- --server ${quote(server)}${clientId === DEFAULT_CLIENT ? '' : ` --client ${quote(clientId)}`}`;
}

// --- login ------------------------------------------------------------------

type Io = {
	stdout: NodeJS.WriteStream;
	stderr: NodeJS.WriteStream;
	env: Env;
};

async function login(cmd: Extract<Command, { kind: 'login' }>, io: Io): Promise<number> {
	const { server, clientId } = cmd;
	const say = (line: string) => io.stdout.write(line + '\n');
	const warn = (line: string) => io.stderr.write(line + '\n');

	if (isInsecureServer(server)) {
		warn(`warning: ${server} is plain http on a non-local host; tokens will cross the network unencrypted`);
	}
	// Fail on an unreadable credentials file now, not after the person has
	// approved and the one-time tokens would be lost.
	await loadCredentials(io.env);

	const endpoints = await discover(server, warn);
	if (!endpoints) return 1;

	// A new key for this login: the code is bound to it from its first request (RFC 9449).
	const dpop = await createDpopKey();
	const { authorization_endpoint, issuer } = endpoints;
	let outcome: PollOutcome | { kind: 'not-started' } | undefined;
	if (!cmd.device && authorization_endpoint && issuer && canOpenBrowser(io.env)) {
		const browser = await withProgress(io, Date.now() + BROWSER_LOGIN_TIMEOUT_MS, (progress, timeout) =>
			loginWithBrowser({
				endpoints: { ...endpoints, authorization_endpoint, issuer },
				clientId,
				scope: cmd.scope,
				dpop,
				env: io.env,
				say,
				warn: progress.log,
				waiting: () => progress.setStage('waiting for you to approve in the browser'),
				timeout
			})
		);
		if (browser.kind === 'fallback') warn(`${browser.reason}; logging in with a one-time code instead.`);
		else outcome = browser;
	}
	outcome ??= await deviceLogin(cmd, endpoints, dpop, io);
	if (outcome.kind === 'not-started') return 1;
	if (outcome.kind !== 'success') {
		warn(failureMessage(outcome, loginHint(server, clientId)));
		return 1;
	}

	// Under the lock: a whoami refreshing another server's tokens rewrites the same file.
	const creds = toCredentials(outcome.tokens, clientId, cmd.scope, endpoints, dpop.stored);
	const path = await withCredentialsLock(io.env, () => saveServerCredentials(server, creds, io.env));
	warn(`Saved credentials to ${path}`);

	try {
		const info = await fetchUserinfo(endpoints.userinfo_endpoint, outcome.tokens.access_token, boundKey(outcome.tokens.token_type, dpop));
		say(`Logged in as ${displayName(info)}`);
	} catch (e) {
		// The tokens are saved and valid as far as we know; only the greeting is missing.
		say(`Logged in to ${server}`);
		warn(`warning: could not read who the tokens belong to: ${describeFailure(e)}`);
	}
	return 0;
}

/** RFC 8628: a code for the person to enter in a browser on any device, and polls until they decide. */
async function deviceLogin(
	cmd: Extract<Command, { kind: 'login' }>,
	endpoints: Endpoints,
	dpop: DpopKey,
	io: Io
): Promise<PollOutcome | { kind: 'not-started' }> {
	const say = (line: string) => io.stdout.write(line + '\n');
	let device: DeviceAuthorization;
	try {
		device = await requestDeviceCode(endpoints.device_authorization_endpoint, cmd.clientId, cmd.scope, dpop);
	} catch (e) {
		io.stderr.write(`Could not start a login at ${cmd.server}: ${describeFailure(e)}\n`);
		return { kind: 'not-started' };
	}
	// Measure the expiry from when we received the code (RFC 8628 §3.2 expires_in is relative).
	const deadline = Date.now() + device.expires_in * 1000;
	showInstructions(device, cmd.qr && io.stdout.isTTY === true, say);
	return withProgress(io, deadline, (progress) => pollUntilDone(endpoints.token_endpoint, cmd.clientId, device, dpop, deadline, progress));
}

/**
 * Runs `wait` with a live line until `deadline` (`timeout` resolves then), which shows once `wait`
 * sets its first stage; Ctrl-C while it is up leaves the terminal tidy.
 */
async function withProgress<T>(io: Io, deadline: number, wait: (progress: Progress, timeout: Promise<void>) => Promise<T>): Promise<T> {
	const progress = createProgress(io.stderr, deadline);
	const onInterrupt = () => {
		progress.stop();
		io.stderr.write('Cancelled.\n');
		process.exit(130);
	};
	process.once('SIGINT', onInterrupt);
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
	try {
		return await wait(progress, timeout);
	} finally {
		clearTimeout(timer);
		progress.stop();
		process.off('SIGINT', onInterrupt);
	}
}

/** RFC 8414 discovery; prints why and returns undefined when the server cannot be reached. */
async function discover(server: string, warn: (line: string) => void): Promise<Endpoints | undefined> {
	try {
		const { endpoints, fromMetadata } = await fetchEndpoints(server);
		if (!fromMetadata) {
			warn(`note: ${server} serves no authorization server metadata; using its /oauth/ endpoints`);
		}
		return endpoints;
	} catch (e) {
		warn(`Cannot reach ${server} (${describeNetworkError(e)}). Is the server running? Check --server.`);
		return undefined;
	}
}

/**
 * RFC 8628 §3.3: show the URL and the code, each on a line of its own so
 * people (and scripts) can pick them out, then a QR code of the complete URI
 * for phones, when a person is looking at a terminal.
 */
function showInstructions(device: DeviceAuthorization, qr: boolean, say: (line: string) => void): void {
	say('To sign in, open this page in a browser on any device:');
	say(device.verification_uri);
	say('and enter this code:');
	say(device.user_code);
	if (qr) {
		say('');
		say('Or scan this QR code, which fills in the code for you:');
		qrcode.generate(device.verification_uri_complete ?? device.verification_uri, { small: true }, (art) => {
			say(art.trimEnd());
		});
	}
	say('');
}

type PollOutcome = { kind: 'success'; tokens: TokenResponse } | { kind: 'fail'; error: string; description?: string };

/**
 * Polls the token endpoint until the person approves or denies, or the code
 * expires (RFC 8628 §3.4, §3.5). Network trouble is retried with back-off
 * until the code's expiry: a laptop changing networks must not lose the login.
 */
async function pollUntilDone(
	tokenEndpoint: string,
	clientId: string,
	device: DeviceAuthorization,
	dpop: DpopKey,
	deadline: number,
	progress: Progress
): Promise<PollOutcome> {
	let interval = device.interval;
	let delay = interval;
	let failures = 0;
	let stage = 'waiting for the code to be entered';
	progress.setStage(stage);

	const retry = (reason: string, retryAfter?: number): PollOutcome | undefined => {
		if (Date.now() >= deadline) {
			return { kind: 'fail', error: 'expired_token', description: `the server could not be reached: ${reason}` };
		}
		failures += 1;
		// Sleep no further past the expiry than one interval: the last try then says expired_token.
		delay = Math.min(retryDelay(failures, interval, retryAfter), Math.max(interval, (deadline - Date.now()) / 1000));
		progress.setStage(`server unavailable (${reason}); retrying in ${Math.ceil(delay)} s`);
		return undefined;
	};

	for (;;) {
		await sleep(delay * 1000);
		let response;
		try {
			response = await pollToken(tokenEndpoint, clientId, device.device_code, dpop);
		} catch (e) {
			const stop = retry(describeNetworkError(e));
			if (stop) return stop;
			continue;
		}

		const decision = decidePoll(response, interval);
		switch (decision.kind) {
			case 'success':
				return decision;
			case 'fail':
				return decision;
			case 'retry': {
				const stop = retry(decision.reason, decision.retryAfter);
				if (stop) return stop;
				continue;
			}
			case 'wait':
				failures = 0;
				interval = decision.interval;
				delay = interval;
				if (decision.stage) stage = decision.stage;
				progress.setStage(stage);
				if (Date.now() > deadline + EXPIRY_GRACE_MS) {
					return { kind: 'fail', error: 'expired_token' };
				}
		}
	}
}

function failureMessage(outcome: Extract<PollOutcome, { kind: 'fail' }>, hint: string): string {
	const detail = outcome.description ? ` (${outcome.description})` : '';
	switch (outcome.error) {
		case 'access_denied':
			return `Login denied: ${outcome.description ?? 'the request was denied in the browser'}.\nTo try again, run: ${hint}`;
		case 'expired_token':
			return `The code expired before the login was approved${detail}.\nTo get a new code, run: ${hint}`;
		default:
			return `Login failed: ${outcome.error}${outcome.description ? `: ${outcome.description}` : ''}.\nTo try again, run: ${hint}`;
	}
}

/** The key to prove at a resource: the login's, when the server bound the access token to it (RFC 9449 §5.1). */
function boundKey(tokenType: string | undefined, dpop: DpopKey | undefined): DpopKey | undefined {
	return isDpopTokenType(tokenType) ? dpop : undefined;
}

/** What goes in the credentials file for this server: the tokens, and the DPoP key they are bound to. */
export function toCredentials(
	tokens: TokenResponse,
	clientId: string,
	requestedScope: string | undefined,
	endpoints: Endpoints,
	dpopKey: JWK,
	now: number = Date.now()
): ServerCredentials {
	return {
		client_id: clientId,
		access_token: tokens.access_token,
		...(tokens.refresh_token ? { refresh_token: tokens.refresh_token } : {}),
		token_type: tokens.token_type,
		// RFC 6749 §5.1: scope may be left out when it is exactly what was asked for.
		...((tokens.scope ?? requestedScope) ? { scope: tokens.scope ?? requestedScope } : {}),
		// Without expires_in, treat the token as good for an hour; the server has the last word.
		expires_at: now + (typeof tokens.expires_in === 'number' ? tokens.expires_in : 3600) * 1000,
		token_endpoint: endpoints.token_endpoint,
		userinfo_endpoint: endpoints.userinfo_endpoint,
		...(endpoints.revocation_endpoint ? { revocation_endpoint: endpoints.revocation_endpoint } : {}),
		saved_at: now,
		dpop_key: dpopKey
	};
}

// --- whoami -----------------------------------------------------------------

async function whoami(cmd: Extract<Command, { kind: 'whoami' }>, io: Io): Promise<number> {
	const say = (line: string) => io.stdout.write(line + '\n');
	const warn = (line: string) => io.stderr.write(line + '\n');

	const file = await loadCredentials(io.env);
	const found = pickServer(file, cmd.server);
	if (!found) {
		const others = Object.keys(file.servers);
		warn(`Not logged in${cmd.server ? ` to ${cmd.server}` : ''}.`);
		if (cmd.server && others.length > 0) warn(`Stored logins: ${others.join(', ')}`);
		warn(`Log in with: ${loginHint(cmd.server ?? DEFAULT_SERVER)}`);
		return 1;
	}
	const { server } = found;

	let answer: Awaited<ReturnType<typeof userinfoKeepingAlive>>;
	try {
		answer = await userinfoKeepingAlive(server, io.env);
	} catch (e) {
		warn(`Could not ask ${server} who you are: ${describeFailure(e)}`);
		return 1;
	}
	if (!answer.ok) {
		warn(`Your login at ${server} has ended (it was revoked or expired)${answer.description ? `: ${answer.description}` : '.'}`);
		warn(`Log in again: ${loginHint(server, found.creds.client_id)}`);
		return 1;
	}
	const { info, creds } = answer;

	say(`Logged in as ${displayName(info)}`);
	for (const line of whoamiDetails(info, creds, server)) say(line);
	return 0;
}

/**
 * Userinfo with the stored tokens, refreshing them first when the access token
 * is (nearly) expired, and once more if the server refuses an access token we
 * thought live (revoked server-side, clocks apart). `ok: false` means the login
 * is over and the person must log in again.
 */
async function userinfoKeepingAlive(
	server: string,
	env: Env
): Promise<{ ok: true; info: Userinfo; creds: ServerCredentials } | { ok: false; description?: string }> {
	const ask = async (creds: ServerCredentials) => ({
		ok: true as const,
		info: await fetchUserinfo(creds.userinfo_endpoint, creds.access_token, boundKey(creds.token_type, await dpopKeyOf(creds))),
		creds
	});
	const first = await freshCredentials(server, env);
	if (!first.ok) return first;
	try {
		return await ask(first.creds);
	} catch (e) {
		if (!isUnauthorized(e)) throw e;
	}
	const second = await freshCredentials(server, env, { rejected: first.creds.access_token });
	if (!second.ok) return second;
	try {
		return await ask(second.creds);
	} catch (e) {
		// Refused even just after a refresh: nothing more this CLI can do.
		if (isUnauthorized(e)) return { ok: false };
		throw e;
	}
}

function isUnauthorized(e: unknown): boolean {
	return e instanceof OAuthError && e.status === 401;
}

/** The detail lines under "Logged in as ...", aligned; email only when known. */
export function whoamiDetails(info: Userinfo, creds: Pick<ServerCredentials, 'scope' | 'client_id'>, server: string): string[] {
	const rows: [string, string | undefined][] = [
		['sub', info.sub],
		['provider', info.provider ?? info.sub.split(':')[0]],
		['email', info.email],
		['scope', info.scope ?? creds.scope],
		['client_id', info.client_id ?? creds.client_id],
		['server', server]
	];
	return rows.filter((row): row is [string, string] => typeof row[1] === 'string' && row[1] !== '').map(([key, value]) => `  ${`${key}:`.padEnd(11)}${value}`);
}

// --- logout -----------------------------------------------------------------

async function logoutCommand(cmd: Extract<Command, { kind: 'logout' }>, io: Io): Promise<number> {
	const notLoggedIn = () => {
		io.stdout.write(`Not logged in${cmd.server ? ` to ${cmd.server}` : ''}.\n`);
		return 0;
	};
	const found = pickServer(await loadCredentials(io.env), cmd.server);
	if (!found) return notLoggedIn();
	const { server } = found;
	const result = await logout(server, io.env);
	switch (result.kind) {
		case 'not-logged-in': // another process logged out first
			return notLoggedIn();
		case 'revoked':
			io.stdout.write(`Logged out of ${server}\n`);
			return 0;
		case 'unconfirmed':
			// Gone from this machine, but maybe still usable on the server until they expire.
			io.stderr.write(
				`Deleted the stored tokens for ${server}, but could not confirm that the server revoked them (${result.reason}).\n` +
					`They may stay valid on the server until they expire; to end the login now, revoke this device at ${server}/account\n`
			);
			return 1;
	}
}

// --- main -------------------------------------------------------------------

function describeFailure(e: unknown): string {
	if (e instanceof OAuthError || e instanceof BadResponseError) return e.message;
	return describeNetworkError(e);
}

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function main(
	argv: string[] = process.argv.slice(2),
	io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env }
): Promise<number> {
	let cmd: Command;
	try {
		cmd = parseCommand(argv, io.env);
	} catch (e) {
		if (!(e instanceof UsageError)) throw e;
		io.stderr.write(`error: ${e.message}\n\n${USAGE}`);
		return 2;
	}
	try {
		switch (cmd.kind) {
			case 'help':
				io.stdout.write(USAGE);
				return 0;
			case 'login':
				return await login(cmd, io);
			case 'whoami':
				return await whoami(cmd, io);
			case 'logout':
				return await logoutCommand(cmd, io);
		}
	} catch (e) {
		// Anything unforeseen (a broken credentials file, a full disk): one line, no stack trace.
		io.stderr.write(`error: ${(e as Error).message ?? String(e)}\n`);
		return 1;
	}
}

if (import.meta.main) {
	process.exitCode = await main();
}
