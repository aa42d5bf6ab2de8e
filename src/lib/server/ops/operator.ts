import { existsSync } from 'node:fs';
import { loadConfig, type Config } from '../core/config';
import type { ProviderConfig } from '../core/providers';
import { sha256Hex } from '../core/crypto';
import { backupDatabase, describeDatabase, openDatabase } from '../store/database';
import { createServices, type Services } from '../core/services';
import { CLIENTS_HELP, runClientsCommand } from './operator-clients';
import { sweep } from './sweeper';

/**
 * `npm run doorcode -- <command>`: what an operator does from a shell. Exit status 0 when
 * done, 1 when the command failed, 2 for a usage error; messages on standard error, results
 * on standard output.
 */

const HELP = `usage: npm run doorcode -- <command>

commands:
  check-config    validate the environment and CLIENTS_FILE; print what the server would run with (secrets masked)
  hash-secret     read a client secret from standard input; print its secret_sha256 for CLIENTS_FILE
  backup <file>   a consistent copy of the SQLite database, taken while the server runs (PostgreSQL: use pg_dump)
  migrate         apply the database migrations and exit (for deploy pipelines)
  sweep           delete expired codes, tokens, sessions, blocks and DPoP proofs now, once
  clients …       list, add, disable, enable, rotate-secret, remove clients while the server runs (clients --help)

exit status: 0 done, 1 failed, 2 usage error`;

type Output = { out: (line: string) => void; err: (line: string) => void };

export async function runOperatorCommand(
	args: string[],
	env: Record<string, string | undefined>,
	io: Output,
	stdin: (prompt: string) => Promise<string>
): Promise<number> {
	const [command, ...rest] = args;
	if (!command || command === '--help' || command === '-h' || command === 'help') {
		io.out(HELP);
		return command ? 0 : 2;
	}
	if (command === 'hash-secret') return hashSecret(io, await stdin('Type the client secret, then press Enter and Ctrl-D:'));
	if (command === 'clients' && ['--help', '-h', 'help', undefined].includes(rest[0])) {
		io.out(CLIENTS_HELP);
		return rest[0] ? 0 : 2;
	}
	const loaded = loadConfig(env);
	if (!loaded.ok) {
		for (const line of loaded.errors) io.err(`doorcode: ${line}`);
		return 1;
	}
	for (const line of loaded.warnings) io.err(`doorcode: ${line}`);
	const { config } = loaded;
	switch (command) {
		case 'check-config':
			for (const line of describeConfig(config)) io.out(line);
			return 0;
		case 'backup':
			return backup(config, rest[0], io);
		case 'migrate':
			return withDatabase(config, io, async () => {
				io.out(`migrations applied: ${describeDatabase(config)} is current`);
				return 0;
			});
		case 'sweep':
			return withDatabase(config, io, async (services) => {
				const report = await sweep(services, Date.now(), { restFactor: 0, minRestMs: 0 });
				io.out(
					`swept: ${report.deviceAuthorizations} device authorizations, ${report.authorizationCodes} authorization codes, ${report.tokens} tokens, ${report.sessions} sessions, ${report.blocks} address blocks, ${report.dpopProofs} DPoP proofs`
				);
				return 0;
			});
		case 'clients':
			return runClientsCommand({ args: rest, io, stdin, withServices: (work) => withDatabase(config, io, work) });
		default:
			io.err(`doorcode: unknown command "${command.slice(0, 40)}"\n\n${HELP}`);
			return 2;
	}
}

function hashSecret(io: Output, input: string): number {
	const secret = input.replace(/\r?\n$/, '');
	if (secret.length < 16) {
		io.err(
			'doorcode: hash-secret: give the client secret (16 characters or more) on standard input, e.g. printf %s "$SECRET" | npm run doorcode -- hash-secret'
		);
		return 1;
	}
	io.out(sha256Hex(secret));
	return 0;
}

/** What the server would run with, one setting a line; secrets shown only as set or not. */
export function describeConfig(config: Config): string[] {
	const set = (value: string | null | undefined) => (value ? 'set' : 'not set');
	return [
		`origin: ${config.origin}${config.secure ? ' (https: Secure, __Host- cookies, HSTS)' : ''}`,
		`database: ${describeDatabase(config)}${config.databaseUrl ? `, pool ${config.databasePoolSize}` : ''}`,
		`sign-in: ${
			[...(config.devIdp ? ['the local identity provider (DEV_IDP=1) as ORCID and Clerk'] : []), ...config.providers.map(describeProvider)].join('; ') || 'none'
		}`,
		`clients: ${config.clients.map((client) => `${client.id} (${client.type}${client.accessTokenFormat === 'jwt' ? ', JWT access tokens' : ''}; ${client.scopes.join(' ') || 'no scopes'})`).join(', ')}`,
		`admins: ${config.adminSubjects.join(', ') || 'none'}`,
		`codes: live ${config.deviceCodeTtlSeconds} s, poll every ${config.pollIntervalSeconds} s; swept every ${config.sweepIntervalSeconds} s`,
		`tokens: access ${config.accessTokenTtlSeconds} s, refresh ${config.refreshTokenTtlSeconds} s; sessions ${config.sessionTtlSeconds} s`,
		`rate limits: ${config.rateLimits ? `on (codes ${config.limits.codeEntry.count}/${config.limits.codeEntry.windowSeconds}s per address and browser)` : 'off'}; TRUST_PROXY ${config.trustProxy}`,
		`signing keys: rotated every ${config.signingKeyDays} days; KEY_ENCRYPTION_SECRET ${set(config.keyEncryptionSecret)}`,
		`metrics: ${!config.metrics ? 'off' : config.metricsToken ? 'METRICS_TOKEN set' : 'loopback only (METRICS_TOKEN not set)'}`
	];
}

function describeProvider(provider: ProviderConfig): string {
	switch (provider.kind) {
		case 'oidc':
			return `${provider.name} (${provider.id}: OpenID issuer ${provider.issuer}, client ${provider.clientId}${provider.groupsClaim ? `, groups from ${provider.groupsClaim}` : ''}, secret set)`;
		case 'github':
			return `${provider.name} (${provider.id}: GitHub at ${provider.baseUrl}, API ${provider.apiUrl}, client ${provider.clientId}, secret set)`;
		default:
			return `${provider.name} at ${provider.baseUrl} (client ${provider.clientId}, secret set)`;
	}
}

async function backup(config: Config, file: string | undefined, io: Output): Promise<number> {
	if (config.databaseUrl) {
		io.err(
			`doorcode: backup: the database is ${describeDatabase(config)}: back it up with pg_dump, e.g. pg_dump --format=custom --file=doorcode.dump "$DATABASE_URL"`
		);
		return 1;
	}
	if (!file) {
		io.err('doorcode: backup: name the file to write, e.g. npm run doorcode -- backup /var/backups/doorcode.db');
		return 2;
	}
	if (existsSync(file)) {
		io.err(`doorcode: backup: ${file} already exists; choose a new file`);
		return 1;
	}
	if (!existsSync(config.databasePath)) {
		io.err(`doorcode: backup: there is no database at ${config.databasePath} (DATABASE_PATH)`);
		return 1;
	}
	try {
		// SQLite's online backup from a read-only connection: a consistent copy while the server keeps writing.
		await backupDatabase(config, file);
	} catch (error) {
		io.err(`doorcode: backup: ${(error as Error).message}`);
		return 1;
	}
	io.out(`backed up ${config.databasePath} to ${file}`);
	return 0;
}

/** Runs `work` on the configured database (never applying CLIENTS_FILE: that is the server's start-up); its status, or 1 when the database fails. */
async function withDatabase(config: Config, io: Output, work: (services: Services) => Promise<number>): Promise<number> {
	let services;
	try {
		services = await createServices(config, await openDatabase(config));
		return await work(services);
	} catch (error) {
		io.err(`doorcode: ${describeDatabase(config)}: ${(error as Error).message}`);
		return 1;
	} finally {
		services?.clients.close();
		await services?.store.close();
	}
}
