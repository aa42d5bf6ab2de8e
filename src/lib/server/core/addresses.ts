import { isIP } from 'node:net';

/** An IP address only this machine reaches: 127.0.0.0/8 or ::1, also IPv4-mapped or in a URL's brackets. Never a name. */
export function isLoopbackAddress(address: string): boolean {
	const plain = address.replace(/^\[(.*)\]$/, '$1').replace(/^::ffff:/, '');
	return plain === '::1' || (isIP(plain) === 4 && plain.startsWith('127.'));
}

export function isLoopbackUrl(url: URL): boolean {
	return url.hostname === 'localhost' || isLoopbackAddress(url.hostname);
}

/** Where doorcode may send secrets and trust answers: https, or plain http only to this machine. */
export function isHttpsOrLoopback(url: URL): boolean {
	return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackUrl(url));
}
