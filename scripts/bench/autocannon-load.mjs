// The benchmark's load from autocannon when wrk is not installed (and for every DPoP run), run
// as its own process (pinned to CPU 1 by load.mjs) so load and server never share a core.
// Argument: JSON { url, mode: 'poll'|'dpop'|'create', codes, first, offset, dpopKey, duration, connections, client, grant }.
// Prints JSON { requests, rps, p50, p99, answers, errors }.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { importJWK, SignJWT } from 'jose';

const root = resolve(import.meta.dirname, '..', '..');
const autocannon = createRequire(join(root, 'package.json'))('autocannon');
/** @type {{ url: string, mode: import('./load.mjs').Mode, codes: number, first: number, offset: number, dpopKey?: import('jose').JWK, duration: number, connections: number, client: string, grant: string }} */
const { url, mode, codes, first, offset, dpopKey, duration, connections, client, grant } = JSON.parse(process.argv[2]);

/**
 * DPoP polls: every proof made before the run (a proof works once), as many as the run can
 * use. Verifying an ES256 proof costs the server at least what signing one costs here, so
 * 1.5 times what this process signs in the run's length is more than the server can take;
 * all carry the iat of the run's middle, well within the server's 60 seconds either way.
 * @returns {Promise<string[]>}
 */
async function signProofs() {
	if (mode !== 'dpop') return [];
	if (!dpopKey || duration > 100) throw new Error('a DPoP run needs the key its codes are bound to, and lasts at most 100 s');
	const privateKey = await importJWK(dpopKey, 'ES256');
	const { kty, crv, x, y } = dpopKey;
	const sign = (/** @type {number} */ iat) =>
		new SignJWT({ htm: 'POST', htu: url, jti: randomUUID() })
			.setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty, crv, x, y } })
			.setIssuedAt(iat)
			.sign(privateKey);
	const sample = 200;
	const started = performance.now();
	for (let k = 0; k < sample; k++) await sign(0);
	const perSecond = sample / ((performance.now() - started) / 1000);
	const count = Math.ceil(1.5 * perSecond * duration);
	const iat = Math.floor(Date.now() / 1000 + count / perSecond + duration / 2);
	const proofs = [];
	for (let k = 0; k < count; k++) proofs.push(await sign(iat));
	return proofs;
}

const proofs = await signProofs();
let i = offset % Math.max(codes, 1);
let proofsUsed = 0;
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
			/** @param {{ body?: string, headers: Record<string, string> }} request */
			setupRequest(request) {
				if (mode === 'create') request.body = `client_id=${client}`;
				else {
					request.body = `grant_type=${encodeURIComponent(grant)}&client_id=${client}&device_code=bench-code-${String(first + i).padStart(32, '0')}`;
					i = i + 1 >= codes ? 0 : i + 1;
				}
				// Past the last proof they come round again, and the server refuses each as used: the answers show it.
				if (mode === 'dpop') request.headers = { ...request.headers, dpop: proofs[proofsUsed++ % proofs.length] };
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
