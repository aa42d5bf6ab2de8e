import type { Cookies } from '@sveltejs/kit';
import type { Config } from '../core/config';
import { generateSecret } from '../core/crypto';
import { secondsUntil } from '../core/time';

/**
 * Every cookie doorcode sets: names, options, set, read and delete, in one place. All
 * are HttpOnly and SameSite=Lax; behind https they are Secure and take the __Host- prefix
 * (this host only, Path=/; RFC 6265bis).
 */

/** Behind https every cookie takes the __Host- prefix. */
function cookieName(config: Config, name: string): string {
	return config.secure ? `__Host-${name}` : name;
}

function options(config: Config, lifetime: { maxAge: number } | { expires: Date }) {
	return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: config.secure, ...lifetime };
}

function read(cookies: Cookies, config: Config, name: string): string | null {
	return cookies.get(cookieName(config, name)) ?? null;
}

function remove(cookies: Cookies, config: Config, name: string): void {
	cookies.delete(cookieName(config, name), { path: '/', secure: config.secure });
}

/** Random values doorcode made itself (32 bytes, base64url); anything else in a cookie is ignored. */
const SECRET_FORMAT = /^[A-Za-z0-9_-]{43}$/;

// ---------------------------------------------------------------- the browser session

const SESSION_COOKIE = 'doorcode_session';

export const sessionCookie = {
	read: (cookies: Cookies, config: Config) => read(cookies, config, SESSION_COOKIE),
	set: (cookies: Cookies, config: Config, token: string, expiresAt: number) =>
		cookies.set(cookieName(config, SESSION_COOKIE), token, options(config, { expires: new Date(expiresAt) })),
	delete: (cookies: Cookies, config: Config) => remove(cookies, config, SESSION_COOKIE)
};

// ---------------------------------------------------------------- the device login in progress

/**
 * The cookie that says "this browser is in the middle of a device login", set when
 * the code is entered. The sign-in callback reads it, not `state`, to know that a
 * provider error or a missing state must land on /device/error (SPEC). It holds the
 * random handle of that entry (see enterUserCode), never the user code, so it cannot
 * be forged into a claim of someone else's code.
 */
const DEVICE_COOKIE = 'doorcode_device';
const MAX_DEVICE_COOKIE_SECONDS = 30 * 60;

export const deviceLoginCookie = {
	set: (cookies: Cookies, config: Config, handle: string, expiresAt: number, now: number) =>
		cookies.set(
			cookieName(config, DEVICE_COOKIE),
			handle,
			options(config, { maxAge: Math.max(1, Math.min(MAX_DEVICE_COOKIE_SECONDS, secondsUntil(expiresAt, now))) })
		),
	/** The handle of the device login this browser is in, unchecked: resolveDeviceLogin checks it. */
	read: (cookies: Cookies, config: Config) => {
		const value = read(cookies, config, DEVICE_COOKIE);
		return value && SECRET_FORMAT.test(value) ? value : null;
	},
	delete: (cookies: Cookies, config: Config) => remove(cookies, config, DEVICE_COOKIE)
};

// ---------------------------------------------------------------- this browser

/**
 * A random id for this browser, so wrong codes are counted per browser even before
 * anyone signs in. Dropping the cookie only leaves the per-address limit.
 */
const BROWSER_COOKIE = 'doorcode_browser';

export function browserId(cookies: Cookies, config: Config): string {
	const existing = read(cookies, config, BROWSER_COOKIE);
	if (existing && SECRET_FORMAT.test(existing)) return existing;
	const id = generateSecret();
	cookies.set(cookieName(config, BROWSER_COOKIE), id, options(config, { maxAge: 365 * 86400 }));
	return id;
}

// ---------------------------------------------------------------- a sign-in at a provider

/**
 * Short-lived cookies that carry a sign-in's provider, state, PKCE verifier, OpenID
 * Connect nonce and return path to the callback.
 */
const SIGN_IN_COOKIES = {
	provider: 'oauth_provider',
	state: 'oauth_state',
	codeVerifier: 'oauth_code_verifier',
	nonce: 'oauth_nonce',
	returnTo: 'oauth_return_to'
} as const;
const SIGN_IN_COOKIE_SECONDS = 10 * 60;

export type SignInCookies = Record<keyof typeof SIGN_IN_COOKIES, string | null>;

export const signInCookies = {
	/** A null value (no nonce for ORCID, Clerk or GitHub) sets no cookie: only an OpenID issuer's callback reads the nonce. */
	set: (cookies: Cookies, config: Config, values: SignInCookies) => {
		for (const key of Object.keys(SIGN_IN_COOKIES) as (keyof typeof SIGN_IN_COOKIES)[]) {
			const value = values[key];
			if (value !== null) cookies.set(cookieName(config, SIGN_IN_COOKIES[key]), value, options(config, { maxAge: SIGN_IN_COOKIE_SECONDS }));
		}
	},
	read: (cookies: Cookies, config: Config): SignInCookies => {
		const values = {} as SignInCookies;
		for (const key of Object.keys(SIGN_IN_COOKIES) as (keyof typeof SIGN_IN_COOKIES)[]) values[key] = read(cookies, config, SIGN_IN_COOKIES[key]);
		return values;
	},
	delete: (cookies: Cookies, config: Config) => {
		for (const name of Object.values(SIGN_IN_COOKIES)) remove(cookies, config, name);
	}
};

// ---------------------------------------------------------------- a notice after post, redirect, get

/** A decision's outcome on /admin, shown once on the page the browser is sent back to. */
const NOTICE_COOKIE = 'doorcode_notice';

export const noticeCookie = {
	set: (cookies: Cookies, config: Config, notice: string) => cookies.set(cookieName(config, NOTICE_COOKIE), notice, options(config, { maxAge: 60 })),
	/** Reads the notice and deletes it: it is shown once. */
	take: (cookies: Cookies, config: Config): string | null => {
		const notice = read(cookies, config, NOTICE_COOKIE);
		if (notice !== null) remove(cookies, config, NOTICE_COOKIE);
		return notice?.slice(0, 200) ?? null;
	}
};

// ---------------------------------------------------------------- where to go next

/**
 * Only paths on this site: no scheme, no host, no protocol-relative "//" (no open
 * redirect), and only printable ASCII, which a Location header can carry as it is.
 */
export function safeReturnTo(value: string | null | undefined, fallback = '/'): string {
	if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\') || !/^[\x21-\x7E]+$/.test(value)) {
		return fallback;
	}
	return value;
}
