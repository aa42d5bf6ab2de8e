import { SignJWT } from 'jose';
import type { Client } from './clients';
import type { Services } from './services';
import { keyring, SIGNING_ALG } from './signing-keys';

/** Whose tokens are being made, known before they are stored: an ID token and a JWT access token name them. */
export interface TokenSubject {
	sub: string;
	name: string | null;
	email: string | null;
	/** The granted scope, space-separated. */
	scope: string;
	/** When the person signed in and approved (milliseconds). */
	authTime: number | null;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/** The audience of a client's JWT access tokens: its `audience`, else this server (ORIGIN). */
export function accessTokenAudience({ config }: Services, client: Client): string {
	return client.audience ?? config.origin;
}

/** RFC 9068: a JWT access token a resource server verifies with the JWK Set alone. */
export async function signAccessToken(
	services: Services,
	client: Client,
	subject: TokenSubject,
	jti: string,
	now: number,
	lifetimeSeconds: number
): Promise<string> {
	const { signer } = await keyring(services, now);
	return new SignJWT({ client_id: client.id, scope: subject.scope })
		.setProtectedHeader({ alg: SIGNING_ALG, kid: signer.kid, typ: 'at+jwt' })
		.setIssuer(services.config.origin)
		.setSubject(subject.sub)
		.setAudience(accessTokenAudience(services, client))
		.setIssuedAt(seconds(now))
		.setExpirationTime(seconds(now) + lifetimeSeconds)
		.setJti(jti)
		.sign(signer.privateKey);
}

/**
 * OpenID Connect Core §2: the ID token for a client that was granted `openid`, with `name`
 * and `email` when `profile` and `email` were granted and are known.
 */
export async function signIdToken(services: Services, client: Client, subject: TokenSubject, now: number, lifetimeSeconds: number): Promise<string> {
	const { signer } = await keyring(services, now);
	const granted = subject.scope.split(' ');
	return new SignJWT({
		...(subject.authTime !== null ? { auth_time: seconds(subject.authTime) } : {}),
		...(granted.includes('profile') && subject.name ? { name: subject.name } : {}),
		...(granted.includes('email') && subject.email ? { email: subject.email } : {})
	})
		.setProtectedHeader({ alg: SIGNING_ALG, kid: signer.kid, typ: 'JWT' })
		.setIssuer(services.config.origin)
		.setSubject(subject.sub)
		.setAudience(client.id)
		.setIssuedAt(seconds(now))
		.setExpirationTime(seconds(now) + lifetimeSeconds)
		.sign(signer.privateKey);
}
