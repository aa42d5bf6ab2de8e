import { timingSafeEqual } from 'node:crypto';
import { isLoopbackAddress } from '../core/addresses';
import type { Config } from '../core/config';

/**
 * Who may read /metrics. With METRICS_TOKEN: whoever sends it as a bearer token. Without
 * it: only this machine, judged by the connection's address and by what a trusted proxy
 * forwarded, so a proxy on this machine does not open /metrics to the world. A forwarded
 * hop that is no address at all names no machine: refused, never taken for this one.
 */
export function mayReadMetrics(config: Config, authorization: string | null, connectionAddress: string, forwardedHop: string | null): boolean {
	if (config.metricsToken) {
		const sent = Buffer.from(/^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? '');
		const expected = Buffer.from(config.metricsToken);
		return sent.length === expected.length && timingSafeEqual(sent, expected);
	}
	return isLoopbackAddress(connectionAddress) && (forwardedHop === null || isLoopbackAddress(forwardedHop));
}
