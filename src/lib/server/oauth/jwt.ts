import { SignJWT } from 'jose';
import type { Client } from '../core/clients';
import type { Services } from '../core/services';
import { keyring, SIGNING_ALG } from './signing-keys';
import { wholeSecondsOf } from '../core/time';

/** Whose tokens are being made, known before they are stored: an ID token and a JWT access token name them. */
export interface TokenSubject {
	sub: string;
	name: string | null;
	email: string | null;
	/** The granted scope, space-separated. */
	scope: string;
	/** When the person signed in and approved (milliseconds). */
	authTime: number | null;
	/** The admin who approved on the owner's behalf: the owner never signed in for this grant. */
	actor: string | null;
	/** OpenID Connect's nonce from the authorization request, which its ID token repeats (Core §3.1.3.7). */
	nonce?: string;
}

/** What a token says about its owner, as far as `scope` releases it (OIDC Core §5.4). */
export interface ReleasedClaims {
	name?: string;
	email?: string;
	email_verified?: boolean;
	/** RFC 8693 §4.1: the admin who acted for the owner. */
	act?: { sub: string };
}

/**
 * The owner's claims that the granted scopes release: `name` with `profile`, `email` with
 * `email`. doorcode keeps only addresses a provider verified; an address an admin typed
 * for an owner is not (`email_verified: false`), and such a grant names the admin in `act`.
 */
export function releasedClaims(owner: { name: string | null; email: string | null; actor: string | null }, scope: string): ReleasedClaims {
	const granted = scope.split(' ');
	return {
		...(granted.includes('profile') && owner.name ? { name: owner.name } : {}),
		...(granted.includes('email') && owner.email ? { email: owner.email, email_verified: owner.actor === null } : {}),
		...(owner.actor !== null ? { act: { sub: owner.actor } } : {})
	};
}

/** The audience of a client's JWT access tokens: its `audience`, else this server (ORIGIN). */
export function accessTokenAudience({ config }: Services, client: Client): string {
	return client.audience ?? config.origin;
}

/**
 * RFC 9068: a JWT access token a resource server verifies with the JWK Set alone; bound to a
 * DPoP key, it names the key's thumbprint in `cnf.jkt` (RFC 9449 §6.1).
 */
export async function signAccessToken(
	services: Services,
	client: Client,
	subject: TokenSubject,
	{ jti, dpopJkt }: { jti: string; dpopJkt: string | null },
	now: number,
	lifetimeSeconds: number
): Promise<string> {
	const { signer } = await keyring(services, now);
	return new SignJWT({
		client_id: client.id,
		scope: subject.scope,
		...(subject.actor !== null ? { act: { sub: subject.actor } } : {}),
		...(dpopJkt !== null ? { cnf: { jkt: dpopJkt } } : {})
	})
		.setProtectedHeader({ alg: SIGNING_ALG, kid: signer.kid, typ: 'at+jwt' })
		.setIssuer(services.config.origin)
		.setSubject(subject.sub)
		.setAudience(accessTokenAudience(services, client))
		.setIssuedAt(wholeSecondsOf(now))
		.setExpirationTime(wholeSecondsOf(now) + lifetimeSeconds)
		.setJti(jti)
		.sign(signer.privateKey);
}

/**
 * OpenID Connect Core §2: the ID token for a client that was granted `openid`, with the
 * claims its scopes release. `auth_time` only when the owner signed in and approved: an
 * approval on someone's behalf asserts no sign-in of theirs.
 */
export async function signIdToken(services: Services, client: Client, subject: TokenSubject, now: number, lifetimeSeconds: number): Promise<string> {
	const { signer } = await keyring(services, now);
	return new SignJWT({
		...(subject.authTime !== null && subject.actor === null ? { auth_time: wholeSecondsOf(subject.authTime) } : {}),
		...(subject.nonce !== undefined ? { nonce: subject.nonce } : {}),
		...releasedClaims(subject, subject.scope)
	})
		.setProtectedHeader({ alg: SIGNING_ALG, kid: signer.kid, typ: 'JWT' })
		.setIssuer(services.config.origin)
		.setSubject(subject.sub)
		.setAudience(client.id)
		.setIssuedAt(wholeSecondsOf(now))
		.setExpirationTime(wholeSecondsOf(now) + lifetimeSeconds)
		.sign(signer.privateKey);
}
