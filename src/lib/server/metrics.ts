import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics (prom-client): requests by method, route pattern and status, the
 * device flow's events, rate-limit refusals, the sweeper, database time, and the process's
 * own metrics (CPU, memory, event-loop lag). No label ever holds a code, a token, an address
 * or anything else a user controls: methods outside the known few count as "other".
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** METRICS=off: nothing is counted (the benchmark measures what counting costs the hot path). */
let enabled = true;

export function enableMetrics(on: boolean): void {
	enabled = on;
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE']);

const requests = new Counter({
	name: 'doorcode_http_requests_total',
	help: 'HTTP requests answered, by method, route pattern and status.',
	labelNames: ['method', 'route', 'status'] as const,
	registers: [registry]
});

const requestDuration = new Histogram({
	name: 'doorcode_http_request_duration_seconds',
	help: 'Time from a request arriving to its answer, by method and route pattern.',
	labelNames: ['method', 'route'] as const,
	buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
	registers: [registry]
});

/** SPEC's device-flow events. */
export type DeviceFlowEvent = 'issued' | 'entered' | 'approved' | 'denied' | 'expired' | 'redeemed' | 'slow_down' | 'replayed';

const deviceFlowEvents = new Counter({
	name: 'doorcode_device_flow_events_total',
	help: 'Device authorization events: codes issued, entered, approved, denied, expired, redeemed, polls slowed down, replays.',
	labelNames: ['event'] as const,
	registers: [registry]
});

const rateLimitRefusals = new Counter({
	name: 'doorcode_rate_limit_refusals_total',
	help: 'Requests refused by a rate limit, by limit.',
	labelNames: ['limit'] as const,
	registers: [registry]
});

const sweptRows = new Counter({
	name: 'doorcode_sweeper_rows_deleted_total',
	help: 'Expired rows the sweeper deleted, by table.',
	labelNames: ['table'] as const,
	registers: [registry]
});

const sweepBatches = new Counter({ name: 'doorcode_sweeper_batches_total', help: 'Batches the sweeper ran.', registers: [registry] });

const databaseDuration = new Histogram({
	name: 'doorcode_database_operation_duration_seconds',
	help: 'Time the store took for one operation.',
	buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
	registers: [registry]
});

const databaseErrors = new Counter({
	name: 'doorcode_database_errors_total',
	help: 'Store operations that failed (an outage, among others).',
	registers: [registry]
});

/**
 * Each (method, route, status) keeps its labelled children, found by one map lookup: labelling
 * a metric on every request would hash its labels every time, on the hot path.
 */
const requestChildren = new Map<string, { count: { inc(): void }; duration: { observe(value: number): void } }>();

export function countRequest(method: string, route: string, status: number, seconds: number): void {
	if (!enabled) return;
	const known = KNOWN_METHODS.has(method) ? method : 'other';
	const key = `${known} ${route} ${status}`;
	let children = requestChildren.get(key);
	if (!children) {
		children = { count: requests.labels(known, route, String(status)), duration: requestDuration.labels(known, route) };
		requestChildren.set(key, children);
	}
	children.count.inc();
	children.duration.observe(seconds);
}

const deviceFlowChildren = new Map<DeviceFlowEvent, { inc(): void }>();

export function countDeviceFlow(event: DeviceFlowEvent): void {
	if (!enabled) return;
	let child = deviceFlowChildren.get(event);
	if (!child) deviceFlowChildren.set(event, (child = deviceFlowEvents.labels(event)));
	child.inc();
}
export const countRateLimitRefusal = (limit: string) => enabled && rateLimitRefusals.inc({ limit });
export function countSweep(table: string, rows: number): void {
	if (!enabled) return;
	sweepBatches.inc();
	if (rows > 0) sweptRows.inc({ table }, rows);
}

/** Wraps every method of an object (the store) so each call's time is observed. */
export function measured<T extends object>(target: T): T {
	if (!enabled) return target;
	const wrapped: Record<string, unknown> = {};
	for (const [name, value] of Object.entries(target)) {
		wrapped[name] =
			typeof value !== 'function'
				? value
				: async (...args: unknown[]) => {
						const started = performance.now();
						try {
							return (await (value as (...args: unknown[]) => Promise<unknown>).apply(target, args)) as unknown;
						} catch (error) {
							databaseErrors.inc();
							throw error;
						} finally {
							databaseDuration.observe((performance.now() - started) / 1000);
						}
					};
	}
	return wrapped as T;
}
