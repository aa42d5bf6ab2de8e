import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { secondsFromMs } from './time';

/**
 * Prometheus metrics: requests by method, route pattern and status, the device flow's and
 * the authorization code flow's events, sign-ins by provider and outcome, rate-limit
 * refusals, the sweeper, database time, and the process's own metrics (CPU, memory,
 * event-loop lag). prom-client keeps them all but the three series every
 * request touches (PlainHistogram below). No label ever holds a code, a token, an address
 * or anything else a user controls: methods outside the known few count as "other".
 */
const registry = new Registry();

/** The Prometheus text format's media type. */
export const METRICS_CONTENT_TYPE = registry.contentType;
collectDefaultMetrics({ register: registry });

/** METRICS=off: nothing is counted (the benchmark measures what counting costs the hot path). */
let enabled = true;

export function enableMetrics(on: boolean): void {
	enabled = on;
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE']);

/** SPEC's device-flow events. */
const DEVICE_FLOW_EVENTS = ['issued', 'entered', 'approved', 'denied', 'expired', 'redeemed', 'slow_down', 'replayed'] as const;
export type DeviceFlowEvent = (typeof DEVICE_FLOW_EVENTS)[number];

const deviceFlowEvents = new Counter({
	name: 'doorcode_device_flow_events_total',
	help: 'Device authorization events: codes issued, entered, approved, denied, expired, redeemed, polls slowed down, replays.',
	labelNames: ['event'] as const,
	registers: [registry]
});

/** One child per event of a family labelled `event`, each series shown at 0 from the start so a dashboard sees it before the first event. */
function eventChildren<E extends string>(counter: Counter<'event'>, events: readonly E[]): Map<E, Counter.Internal> {
	const children = new Map(events.map((event) => [event, counter.labels(event)]));
	for (const child of children.values()) child.inc(0);
	return children;
}

const deviceFlowChildren = eventChildren(deviceFlowEvents, DEVICE_FLOW_EVENTS);

/** The authorization code flow's events; SPEC names none, so they follow the device flow's. */
const AUTHORIZATION_CODE_EVENTS = ['issued', 'denied', 'redeemed', 'replayed', 'refused'] as const;
export type AuthorizationCodeEvent = (typeof AUTHORIZATION_CODE_EVENTS)[number];

const authorizationCodeEvents = new Counter({
	name: 'doorcode_authorization_code_events_total',
	help: 'Authorization code events: codes issued after Approve, requests denied, codes redeemed, replays, approvals refused.',
	labelNames: ['event'] as const,
	registers: [registry]
});

const authorizationCodeChildren = eventChildren(authorizationCodeEvents, AUTHORIZATION_CODE_EVENTS);

const signIns = new Counter({
	name: 'doorcode_sign_ins_total',
	help: "Sign-ins at the upstream providers, by the provider's configured id and outcome: ok, or what failed.",
	labelNames: ['provider', 'outcome'] as const,
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

const databaseErrors = new Counter({
	name: 'doorcode_database_errors_total',
	help: 'Store operations that failed (an outage, among others).',
	registers: [registry]
});

/**
 * A histogram kept as plain numbers and written out only when scraped. The hot path observes
 * two per request (its duration, its store call): prom-client's labelled observe hashes and
 * validates its labels on every call, which cost a poll about 5 % of its time.
 */
class PlainHistogram {
	private readonly counts: number[];
	private sum = 0;
	private count = 0;

	constructor(private readonly bounds: readonly number[]) {
		this.counts = bounds.map(() => 0);
	}

	observe(value: number): void {
		this.sum += value;
		this.count++;
		for (let i = 0; i < this.bounds.length; i++) {
			if (value <= this.bounds[i]) {
				this.counts[i]++;
				return;
			}
		}
	}

	/** Prometheus text lines: cumulative buckets (le first, as prom-client writes them), +Inf, sum and count. */
	lines(name: string, labels: string): string[] {
		const more = labels ? `,${labels}` : '';
		const own = labels ? `{${labels}}` : '';
		let cumulative = 0;
		const buckets = this.bounds.map((bound, i) => `${name}_bucket{le="${bound}"${more}} ${(cumulative += this.counts[i])}`);
		return [...buckets, `${name}_bucket{le="+Inf"${more}} ${this.count}`, `${name}_sum${own} ${this.sum}`, `${name}_count${own} ${this.count}`];
	}
}

const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const DATABASE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];

/**
 * Requests by route, then method: durations per (method, route), counts per status. Nested maps,
 * because the route and method strings are constants whose hashes are cached: a key built
 * from them on every request would be hashed anew each time.
 */
interface RequestSeries {
	labels: string;
	duration: PlainHistogram;
	statuses: Map<number, number>;
}
const requestSeries = new Map<string, Map<string, RequestSeries>>();
const databaseDuration = new PlainHistogram(DATABASE_BUCKETS);

/** A Prometheus label value: backslash, double quote and newline escaped. */
const labelValue = (value: string) => value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));

export function countRequest(method: string, route: string, status: number, seconds: number): void {
	if (!enabled) return;
	const known = KNOWN_METHODS.has(method) ? method : 'other';
	let byMethod = requestSeries.get(route);
	if (!byMethod) requestSeries.set(route, (byMethod = new Map()));
	let series = byMethod.get(known);
	if (!series) {
		series = { labels: `method="${known}",route="${labelValue(route)}"`, duration: new PlainHistogram(REQUEST_BUCKETS), statuses: new Map() };
		byMethod.set(known, series);
	}
	series.duration.observe(seconds);
	series.statuses.set(status, (series.statuses.get(status) ?? 0) + 1);
}

/** Everything /metrics shows: prom-client's registry, then the plain series above. */
export async function metricsText(): Promise<string> {
	const allSeries = [...requestSeries.values()].flatMap((byMethod) => [...byMethod.values()]);
	const family = (name: string, help: string, type: string, lines: string[]) => [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines].join('\n');
	const plain = [
		family(
			'doorcode_http_requests_total',
			'HTTP requests answered, by method, route pattern and status.',
			'counter',
			allSeries.flatMap(({ labels, statuses }) => [...statuses].map(([status, count]) => `doorcode_http_requests_total{${labels},status="${status}"} ${count}`))
		),
		family(
			'doorcode_http_request_duration_seconds',
			'Time from a request arriving to its answer, by method and route pattern.',
			'histogram',
			allSeries.flatMap(({ labels, duration }) => duration.lines('doorcode_http_request_duration_seconds', labels))
		),
		family(
			'doorcode_database_operation_duration_seconds',
			'Time the store took for one operation.',
			'histogram',
			databaseDuration.lines('doorcode_database_operation_duration_seconds', '')
		)
	];
	return `${await registry.metrics()}\n${plain.join('\n\n')}\n`;
}

export function countDeviceFlow(event: DeviceFlowEvent): void {
	if (enabled) deviceFlowChildren.get(event)?.inc();
}
export function countAuthorizationCode(event: AuthorizationCodeEvent): void {
	if (enabled) authorizationCodeChildren.get(event)?.inc();
}
/** `provider` is a configured provider's id and `outcome` one of browser/sign-in.ts's few: never a person, an address or a token. */
export const countSignIn = (provider: string, outcome: string) => enabled && signIns.inc({ provider, outcome });
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
							databaseDuration.observe(secondsFromMs(performance.now() - started));
						}
					};
	}
	return wrapped as T;
}
