import { countRequest } from './metrics';
import { secondsFromMs } from './time';

/**
 * Structured JSON logs, one line per event. Lines are buffered and written once per
 * turn of the event loop: a write to a pipe is synchronous on Linux, and one write
 * per request would cost the hot path a system call each. Never log a secret.
 */
let pending: string[] = [];
let scheduled = false;

export function log(entry: Record<string, unknown>): void {
	write(JSON.stringify(entry));
}

function write(line: string): void {
	pending.push(line);
	if (!scheduled) {
		scheduled = true;
		setImmediate(flush);
	}
}

function flush(): void {
	scheduled = false;
	if (pending.length === 0) return;
	const lines = pending.join('\n') + '\n';
	pending = [];
	process.stdout.write(lines);
}

process.on('exit', flush);

/** The one line every request gets: id, route (never the query), status, duration; and its count in the metrics. */
export function logRequest(id: string, method: string, route: string, status: number, started: number): void {
	const ms = performance.now() - started;
	countRequest(method, route, status, secondsFromMs(ms));
	// The line log() would write, built without an object to serialize: this runs for every request.
	// The id is a UUID and the status a number; the method and the route are quoted as JSON.
	write(
		`{"level":"info","msg":"request","id":"${id}","method":${JSON.stringify(method.slice(0, 16))},"route":${JSON.stringify(route)},"status":${status},"ms":${Math.round(ms * 10) / 10}}`
	);
}
