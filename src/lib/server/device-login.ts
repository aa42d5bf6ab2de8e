import type { Cookies } from '@sveltejs/kit';
import type { Config } from './config';

/**
 * The cookie that says "this browser is in the middle of a device login", set when
 * the code is entered. The sign-in callback reads it, not `state`, to know that a
 * provider error or a missing state must land on /device/error (SPEC).
 */
export const DEVICE_COOKIE = 'doorcode_device';

const MAX_DEVICE_COOKIE_SECONDS = 30 * 60;

export function rememberDeviceLogin(cookies: Cookies, config: Config, userCode: string, expiresAt: number, now: number) {
	cookies.set(DEVICE_COOKIE, userCode, {
		path: '/',
		httpOnly: true,
		sameSite: 'lax',
		secure: config.secure,
		maxAge: Math.max(1, Math.min(MAX_DEVICE_COOKIE_SECONDS, Math.ceil((expiresAt - now) / 1000)))
	});
}

export function deviceLoginInProgress(cookies: Cookies): string | null {
	const value = cookies.get(DEVICE_COOKIE);
	return value && /^[A-Z]{8}$/.test(value) ? value : null;
}

export function forgetDeviceLogin(cookies: Cookies) {
	cookies.delete(DEVICE_COOKIE, { path: '/' });
}

/** Why /device/error is shown: each reason has its own words on that page. */
export type DeviceErrorReason = 'denied' | 'expired' | 'provider_denied' | 'provider_failed' | 'state';

export const DEVICE_ERROR_REASONS: DeviceErrorReason[] = ['denied', 'expired', 'provider_denied', 'provider_failed', 'state'];

/** Only paths on this site: no scheme, no host, no protocol-relative "//" (no open redirect). */
export function safeReturnTo(value: string | null | undefined, fallback = '/'): string {
	if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\') || /[\r\n\t]/.test(value)) {
		return fallback;
	}
	return value;
}
