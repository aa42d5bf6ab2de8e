import { trustedHop } from '#lib/server/oauth/http.ts';
import { METRICS_CONTENT_TYPE, metricsText } from '#lib/server/core/metrics.ts';
import { mayReadMetrics } from '#lib/server/ops/metrics-access.ts';
import type { RequestHandler } from './$types';

/** Prometheus text format, for METRICS_TOKEN or this machine only. */
export const GET: RequestHandler = async (event) => {
	let connection = '';
	try {
		connection = event.getClientAddress();
	} catch {
		// No address: not loopback.
	}
	const { config } = event.locals.services;
	const forwardedHop = trustedHop(event.request.headers.get('x-forwarded-for'), config.trustProxy);
	const authorization = event.request.headers.get('authorization');
	if (!config.metrics) return new Response('Metrics are off (METRICS=off).\n', { status: 404, headers: { 'Cache-Control': 'no-store' } });
	if (!mayReadMetrics(config, authorization, connection, forwardedHop)) {
		return new Response('Metrics are for Prometheus: send METRICS_TOKEN as a bearer token, or ask from this machine.\n', {
			status: 401,
			headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'WWW-Authenticate': 'Bearer realm="doorcode metrics"' }
		});
	}
	return new Response(await metricsText(), { headers: { 'Content-Type': METRICS_CONTENT_TYPE, 'Cache-Control': 'no-store' } });
};
