import type { Cookies } from '@sveltejs/kit';
import type { Config } from './config';
import { generateSecret } from './crypto';

/**
 * The cookie that says "this browser is in the middle of a device login", set when
 * the code is entered. The sign-in callback reads it, not `state`, to know that a
 * provider error or a missing state must land on /device/error (SPEC). It holds the
 * random handle of that entry (see enterUserCode), never the user code, so it cannot
 * be forged into a claim of someone else's code.
 */
const DEVICE_COOKIE = 'doorcode_device';

const MAX_DEVICE_COOKIE_SECONDS = 30 * 60;

export function rememberDeviceLogin(cookies: Cookies, config: Config, handle: string, expiresAt: number, now: number) {
	cookies.set(cookieName(config, DEVICE_COOKIE), handle, {
		path: '/',
		httpOnly: true,
		sameSite: 'lax',
		secure: config.secure,
		maxAge: Math.max(1, Math.min(MAX_DEVICE_COOKIE_SECONDS, Math.ceil((expiresAt - now) / 1000)))
	});
}

/** The handle of the device login this browser is in, unchecked: resolveDeviceLogin checks it. */
export function deviceLoginInProgress(cookies: Cookies, config: Config): string | null {
	const value = cookies.get(cookieName(config, DEVICE_COOKIE));
	return value && SECRET_FORMAT.test(value) ? value : null;
}

const SECRET_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export function forgetDeviceLogin(cookies: Cookies, config: Config) {
	cookies.delete(cookieName(config, DEVICE_COOKIE), { path: '/', secure: config.secure });
}

/** Why /device/error is shown: each reason has its own words on that page. */
export type DeviceErrorReason = 'denied' | 'expired' | 'provider_denied' | 'provider_failed' | 'state' | 'claimed' | 'reported' | 'limited';

export const DEVICE_ERROR_REASONS: DeviceErrorReason[] = ['denied', 'expired', 'provider_denied', 'provider_failed', 'state', 'claimed', 'reported', 'limited'];

/**
 * A random id for this browser, so wrong codes are counted per browser even before
 * anyone signs in. Dropping the cookie only leaves the per-address limit.
 */
const BROWSER_COOKIE = 'doorcode_browser';

export function browserId(cookies: Cookies, config: Config): string {
	const name = cookieName(config, BROWSER_COOKIE);
	const existing = cookies.get(name);
	if (existing && SECRET_FORMAT.test(existing)) return existing;
	const id = generateSecret();
	cookies.set(name, id, { path: '/', httpOnly: true, sameSite: 'lax', secure: config.secure, maxAge: 365 * 86400 });
	return id;
}

/** Behind https every cookie takes the __Host- prefix: this host only, Secure, Path=/. */
export function cookieName(config: Config, name: string): string {
	return config.secure ? `__Host-${name}` : name;
}

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
