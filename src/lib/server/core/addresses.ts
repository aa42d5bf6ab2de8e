import { isIP } from 'node:net';

/** An IP address only this machine reaches: 127.0.0.0/8 or ::1, also IPv4-mapped or in a URL's brackets. Never a name. */
export function isLoopbackAddress(address: string): boolean {
	const plain = address.replace(/^\[(.*)\]$/, '$1').replace(/^::ffff:/, '');
	return plain === '::1' || (isIP(plain) === 4 && plain.startsWith('127.'));
}
