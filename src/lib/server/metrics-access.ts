import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Config } from './config';

/**
 * Who may read /metrics. With METRICS_TOKEN: whoever sends it as a bearer token. Without
 * it: only this machine, judged by the connection's address and by the address a trusted
 * proxy forwarded, so a proxy on this machine does not open /metrics to the world.
 */
export function mayReadMetrics(config: Config, authorization: string | null, connectionAddress: string, clientAddress: string | null): boolean {
	if (config.metricsToken) {
		const sent = Buffer.from(/^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? '');
		const expected = Buffer.from(config.metricsToken);
		return sent.length === expected.length && timingSafeEqual(sent, expected);
	}
	return isLoopback(connectionAddress) && (clientAddress === null || isLoopback(clientAddress));
}

function isLoopback(address: string): boolean {
	const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
	return plain === '::1' || (isIP(plain) === 4 && plain.startsWith('127.'));
}
