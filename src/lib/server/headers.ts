import type { Config } from './config';

/** Headers every response carries, pages and JSON alike. */
export function securityHeaders(config: Config): Record<string, string> {
	const headers: Record<string, string> = { 'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff' };
	if (config.secure) headers['Strict-Transport-Security'] = 'max-age=31536000; includeSubDomains';
	return headers;
}

/** Every OAuth response is JSON and never cached (RFC 6749 §5.1). */
export const OAUTH_RESPONSE_HEADERS = {
	'Content-Type': 'application/json; charset=utf-8',
	'Cache-Control': 'no-store',
	Pragma: 'no-cache'
} as const;
