import type { Config } from './config';

const securityHeadersByConfig = new WeakMap<Config, Readonly<Record<string, string>>>();

/** Headers every response carries, pages and JSON alike; built once per configuration, as every request asks. */
export function securityHeaders(config: Config): Readonly<Record<string, string>> {
	let headers = securityHeadersByConfig.get(config);
	if (!headers) {
		headers = Object.freeze({
			'Referrer-Policy': 'no-referrer',
			'X-Content-Type-Options': 'nosniff',
			...(config.secure ? { 'Strict-Transport-Security': 'max-age=31536000; includeSubDomains' } : {})
		});
		securityHeadersByConfig.set(config, headers);
	}
	return headers;
}

/** What every response carries, whichever path served it: the security headers and its request id. */
export function responseHeaders(config: Config, requestId: string): Record<string, string> {
	return { ...securityHeaders(config), 'X-Request-Id': requestId };
}

/** Every OAuth response is JSON and never cached (RFC 6749 §5.1). */
export const OAUTH_RESPONSE_HEADERS = {
	'Content-Type': 'application/json; charset=utf-8',
	'Cache-Control': 'no-store',
	Pragma: 'no-cache'
} as const;
