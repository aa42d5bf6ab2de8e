// The benchmark's load from autocannon when wrk is not installed, run as its own process
// (pinned to CPU 1 by load.mjs) so load and server never share a core.
// Argument: JSON { url, mode: 'poll'|'create', codes, offset, duration, connections, client, grant }.
// Prints JSON { requests, rps, p50, p99, answers, errors }.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const autocannon = createRequire(join(root, 'package.json'))('autocannon');
/** @type {{ url: string, mode: import('./load.mjs').Mode, codes: number, offset: number, duration: number, connections: number, client: string, grant: string }} */
const { url, mode, codes, offset, duration, connections, client, grant } = JSON.parse(process.argv[2]);

let i = offset % Math.max(codes, 1);
/** @type {Record<string, number>} */
const answers = {};
const result = await autocannon({
	url,
	connections,
	duration,
	method: 'POST',
	headers: { 'content-type': 'application/x-www-form-urlencoded' },
	requests: [
		{
			/** @param {{ body?: string }} request */
			setupRequest(request) {
				if (mode === 'create') request.body = `client_id=${client}`;
				else {
					request.body = `grant_type=${encodeURIComponent(grant)}&client_id=${client}&device_code=bench-code-${String(i).padStart(32, '0')}`;
					i = i + 1 >= codes ? 0 : i + 1;
				}
				return request;
			},
			/** @param {number} status @param {string} body */
			onResponse(status, body) {
				const key = /"error":"(\w+)"/.exec(body)?.[1] ?? (status === 200 ? 'ok' : String(status));
				answers[key] = (answers[key] ?? 0) + 1;
			}
		}
	]
});
process.stdout.write(
	JSON.stringify({
		requests: result.requests.total,
		rps: result.requests.total / (result.duration || duration),
		p50: result.latency.p50,
		p99: result.latency.p99,
		answers,
		errors: result.errors + result.timeouts
	})
);
