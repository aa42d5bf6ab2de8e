import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { LIFETIME_BOUNDS } from '../core/clients';
import type { Services } from '../core/services';
import type { StoredSigningKey } from '../store/store';
import { DAY_MS, HOUR_MS, msFromSeconds } from '../core/time';

/**
 * doorcode's signing keys, for ID tokens and RFC 9068 access tokens. doorcode makes them
 * (RS256: every OpenID client supports it), keeps them in the store so every instance
 * signs and publishes the same ones, and rotates them:
 *
 *   published ──1 day──▶ signs for SIGNING_KEY_DAYS ──▶ retired, still published ──▶ gone
 *                                                      (until every token it signed expired)
 *
 * Private keys never leave the server; with KEY_ENCRYPTION_SECRET they are stored
 * encrypted (AES-256-GCM), so a copy of the database alone cannot sign.
 */

export const SIGNING_ALG = 'RS256';
/** A new key is published this long before it signs, so every verifier's JWK Set cache has it in time. */
export const PUBLISH_AHEAD_MS = DAY_MS;
const BOOTSTRAP_BACKDATE_MS = 60_000;
/** The keyring is read from the store again after this long, so instances agree within a minute. */
const RELOAD_MS = 60_000;
/**
 * A retired key's private half is no use once its successor has signed for a while (an
 * hour, for instances whose clocks differ): it is erased, so old private keys do not live on
 * in every backup. Its public half stays published until every token it signed has expired.
 */
export const ERASE_AFTER_RETIRED_MS = HOUR_MS;

/** How a private key stored without KEY_ENCRYPTION_SECRET begins. */
const PLAIN = 'plain:';

export interface SigningKey {
	kid: string;
	privateKey: CryptoKey;
	/** When it stops signing, and when every token it signed has expired. */
	retiresAt: number;
}

export interface Keyring {
	/** The key that signs now. */
	signer: SigningKey;
	/** What jwks_uri serves: every key published now (the signer, the next one, retired ones still in use). */
	published: JWK[];
}

let cached: { keyring: Keyring; loadedAt: number; signerRetires: number; services: Services } | undefined;
/** The load under way: requests that arrive meanwhile wait for it, so instances make a key once, not once per request. */
let loading: { promise: Promise<Keyring>; services: Services } | undefined;

/** The keyring at `now`, making the first key, or the next one a day before it is needed. */
export function keyring(services: Services, now: number): Promise<Keyring> {
	if (cached && cached.services === services && now - cached.loadedAt < RELOAD_MS && now < cached.signerRetires) return Promise.resolve(cached.keyring);
	if (loading?.services !== services) {
		const promise = loadKeyring(services, now).finally(() => {
			if (loading?.promise === promise) loading = undefined;
		});
		loading = { promise, services };
	}
	return loading.promise;
}

async function loadKeyring(services: Services, now: number): Promise<Keyring> {
	let rows = await services.store.listSigningKeys(now);
	const signing = currentSigner(rows, now);
	const latest = rows.at(-1);
	// The first key signs at once, counted from a minute ago: another instance making it at the
	// same moment, its clock a few milliseconds behind, must find it signing already.
	const next = !signing ? now - BOOTSTRAP_BACKDATE_MS : latest && latest.retiresAt - PUBLISH_AHEAD_MS <= now ? latest.retiresAt : null;
	if (next !== null) {
		await services.store.addSigningKey(await makeKey(services, next, now));
		rows = await services.store.listSigningKeys(now);
	}
	const signer = currentSigner(rows, now);
	if (!signer) throw new Error('no signing key signs now');
	const keyring = {
		signer: { kid: signer.kid, privateKey: await privateKeyOf(services, signer), retiresAt: signer.retiresAt },
		published: rows.map((row) => JSON.parse(row.publicJwk) as JWK)
	};
	cached = { keyring, loadedAt: now, signerRetires: signer.retiresAt, services };
	return keyring;
}

/**
 * At start-up: keys stored in clear before KEY_ENCRYPTION_SECRET was set are encrypted now,
 * and the keyring must open (a wrong or missing secret is found here, not at the first
 * sign-in). Throws SigningKeysUnusable when it cannot.
 */
export async function prepareSigningKeys(services: Services, now: number): Promise<void> {
	const secret = services.config.keyEncryptionSecret;
	if (secret) {
		for (const row of await services.store.listSigningKeys(now)) {
			if (row.privateJwk.startsWith(PLAIN))
				await services.store.sealSigningKey(row.kid, row.privateJwk, sealPrivateKey(secret, openPrivateKey(secret, row.privateJwk)));
		}
	}
	await keyring(services, now);
}

/** This instance cannot sign: its KEY_ENCRYPTION_SECRET does not open the keys in the store. */
export class SigningKeysUnusable extends Error {
	readonly name = 'SigningKeysUnusable';
}

function currentSigner(rows: StoredSigningKey[], now: number): StoredSigningKey | undefined {
	return rows.filter((row) => row.activatesAt <= now && now < row.retiresAt).at(-1);
}

/**
 * How long a token signed now may live: the longest access token lifetime any client may
 * have (ID tokens live as long). Clients change while a key signs, so the bound is what a
 * client's access_token_ttl may ever be, not what the clients of today have.
 */
export function longestTokenLifetimeMs({ config }: Services): number {
	return msFromSeconds(Math.max(config.accessTokenTtlSeconds, LIFETIME_BOUNDS.access_token_ttl[1]));
}

async function makeKey(services: Services, activatesAt: number, now: number): Promise<StoredSigningKey> {
	const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { modulusLength: 2048, extractable: true });
	const kid = randomBytes(12).toString('base64url');
	const retiresAt = activatesAt + services.config.signingKeyDays * DAY_MS;
	return {
		kid,
		alg: SIGNING_ALG,
		publicJwk: JSON.stringify({ ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' }),
		privateJwk: sealPrivateKey(services.config.keyEncryptionSecret, JSON.stringify(await exportJWK(privateKey))),
		createdAt: now,
		activatesAt,
		retiresAt,
		expiresAt: retiresAt + longestTokenLifetimeMs(services)
	};
}

async function privateKeyOf({ config }: Services, row: StoredSigningKey): Promise<CryptoKey> {
	let json: string;
	try {
		json = openPrivateKey(config.keyEncryptionSecret, row.privateJwk);
	} catch {
		throw new SigningKeysUnusable(
			`the signing key ${row.kid} cannot be opened: KEY_ENCRYPTION_SECRET is ${config.keyEncryptionSecret ? 'not the one it was encrypted with' : 'not set'}`
		);
	}
	return (await importJWK(JSON.parse(json) as JWK, row.alg)) as CryptoKey;
}

/** `aes256gcm:` + base64url(iv ‖ tag ‖ ciphertext) with a key derived from the secret; `plain:` + JSON without one. */
export function sealPrivateKey(secret: string | null, json: string): string {
	if (!secret) return `${PLAIN}${json}`;
	const iv = randomBytes(12);
	const cipher = createCipheriv('aes-256-gcm', encryptionKey(secret), iv);
	const sealed = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
	return `aes256gcm:${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url')}`;
}

export function openPrivateKey(secret: string | null, stored: string): string {
	if (stored.startsWith(PLAIN)) return stored.slice(PLAIN.length);
	if (!secret) throw new Error('a signing key is encrypted and KEY_ENCRYPTION_SECRET is not set');
	const bytes = Buffer.from(stored.slice('aes256gcm:'.length), 'base64url');
	const decipher = createDecipheriv('aes-256-gcm', encryptionKey(secret), bytes.subarray(0, 12));
	decipher.setAuthTag(bytes.subarray(12, 28));
	return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
}

function encryptionKey(secret: string): Buffer {
	return createHash('sha256').update(`doorcode signing keys\0${secret}`).digest();
}
