// The benchmark's load: bounded runs from CPU 1, with wrk when installed (a Lua script that
// counts the answers), else autocannon in a pinned child process (autocannon-load.mjs).
// DPoP polls always come from autocannon's process, which signs their proofs before the run.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { children, CLIENT, pinned, removeDir, root, tempDir } from './lib.mjs';

/** @typedef {'wrk' | 'autocannon'} Generator the load generator */
/** @typedef {'poll' | 'dpop' | 'create'} Mode token polls, token polls each with a DPoP proof (RFC 9449), or device authorization requests */
/**
 * What one bounded load run measured.
 * @typedef {object} LoadResult
 * @property {number} requests requests answered
 * @property {number} rps requests answered per second
 * @property {number} p50 median latency, in ms
 * @property {number} p99 99th percentile latency, in ms
 * @property {Record<string, number>} answers how many of each answer: the OAuth error, "ok" or the HTTP status
 * @property {number} errors connection errors and timeouts
 */

export const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
/** sqlite.mjs's deviceCode(first + i), in Lua. @param {number} first */
const luaDeviceCode = (first) => `string.format("bench-code-%032d", ${first} + i)`;

/** @param {string} value @returns {value is Mode} */
export const isMode = (value) => value === 'poll' || value === 'dpop' || value === 'create';
/** @param {string} value @returns {value is Generator} */
export const isGenerator = (value) => value === 'wrk' || value === 'autocannon';

/**
 * @typedef {object} LoadOptions
 * @property {Mode} mode
 * @property {number} [codes] how many pending codes are polled: [first, first + codes)
 * @property {number} [first] the lowest code polled (default 0)
 * @property {number} [offset] where in them the polls start
 * @property {import('jose').JWK} [dpopKey] mode 'dpop': the private key (ES256) the codes are bound to
 * @property {number} duration in seconds
 * @property {number} connections
 * @property {Generator} [generator] wrk when installed, else autocannon
 */

/**
 * Bounded load for `duration` seconds with `connections` connections from CPU 1.
 * mode 'poll': token polls cycling round-robin through codes [first, first + codes), starting at `offset`;
 * mode 'dpop': the same, each with a new DPoP proof by `dpopKey` (autocannon only);
 * mode 'create': device authorization requests.
 * @param {string} url
 * @param {LoadOptions} options
 * @returns {Promise<LoadResult>}
 */
export async function load(url, { mode, codes = 0, first = 0, offset = 0, dpopKey, duration, connections, generator = hasWrk ? 'wrk' : 'autocannon' }) {
	if (generator === 'wrk' && mode !== 'dpop') return loadWithWrk(url, { mode, codes, first, offset, duration, connections });
	return loadWithAutocannon(url, { mode, codes, first, offset, dpopKey, duration, connections });
}

/**
 * @param {string} url
 * @param {Required<Omit<LoadOptions, 'generator' | 'dpopKey'>>} options
 * @returns {Promise<LoadResult>}
 */
function loadWithWrk(url, { mode, codes, first, offset, duration, connections }) {
	const dir = tempDir('doorcode-bench-wrk-');
	const script = join(dir, 'load.lua');
	const body =
		mode === 'create'
			? `wrk.body = "client_id=${CLIENT}"`
			: `local i = ${offset % Math.max(codes, 1)}
request = function()
	local body = "grant_type=${encodeURIComponent(GRANT)}&client_id=${CLIENT}&device_code=" .. ${luaDeviceCode(first)}
	i = i + 1
	if i >= ${codes} then i = 0 end
	return wrk.format(nil, nil, nil, body)
end`;
	writeFileSync(
		script,
		`wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
${body}
answers = {}
response = function(status, headers, body)
	local key = string.match(body, '"error":"([%w_]+)"')
	if not key then key = status == 200 and "ok" or tostring(status) end
	answers[key] = (answers[key] or 0) + 1
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT %d %f %f %f %d %d %d %d\\n", summary.requests, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, e.connect, e.read, e.write, e.timeout))
	for _, thread in ipairs(threads) do
		for key, count in pairs(thread:get("answers")) do io.write(string.format("ANSWER %s %d\\n", key, count)) end
	end
end
`
	);
	return new Promise((resolveLoad, reject) => {
		const [command, args] = pinned(1, 'wrk', ['-t1', `-c${connections}`, `-d${duration}s`, '--timeout', '10s', '-s', script, url]);
		const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
		children.add(child);
		const killer = setTimeout(() => child.kill('SIGKILL'), (duration + 30) * 1000);
		let out = '';
		child.stdout.on('data', (chunk) => (out += chunk));
		child.stderr.on('data', (chunk) => (out += chunk));
		child.on('exit', () => {
			clearTimeout(killer);
			children.delete(child);
			removeDir(dir);
			const match = /RESULT (\d+) (\S+) (\S+) (\S+) (\d+) (\d+) (\d+) (\d+)/.exec(out);
			if (!match) return reject(new Error(`wrk printed no result:\n${out}`));
			/** @type {Record<string, number>} */
			const answers = {};
			for (const [, key, count] of out.matchAll(/ANSWER (\S+) (\d+)/g)) answers[key] = Number(count);
			const [requests, rps, p50, p99, ...errors] = match.slice(1).map(Number);
			resolveLoad({ requests, rps, p50, p99, answers, errors: errors.reduce((a, b) => a + b, 0) });
		});
	});
}

/**
 * @param {string} url
 * @param {Omit<Required<LoadOptions>, 'generator' | 'dpopKey'> & Pick<LoadOptions, 'dpopKey'>} options
 * @returns {Promise<LoadResult>}
 */
function loadWithAutocannon(url, options) {
	return new Promise((resolveLoad, reject) => {
		const [command, args] = pinned(1, process.execPath, [
			join(import.meta.dirname, 'autocannon-load.mjs'),
			JSON.stringify({ url, ...options, client: CLIENT, grant: GRANT })
		]);
		const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
		children.add(child);
		// A DPoP run signs its proofs first, for up to 1.5 times the run's length.
		const killer = setTimeout(() => child.kill('SIGKILL'), (options.duration * (options.mode === 'dpop' ? 3 : 1) + 30) * 1000);
		let out = '';
		child.stdout.on('data', (chunk) => (out += chunk));
		child.on('exit', () => {
			clearTimeout(killer);
			children.delete(child);
			try {
				resolveLoad(JSON.parse(out));
			} catch {
				reject(new Error(`autocannon printed no result:\n${out}`));
			}
		});
	});
}

/** "slow_down 97 %, authorization_pending 3 %" @param {Record<string, number>} answers */
export function describeAnswers(answers) {
	const total = Object.values(answers).reduce((a, b) => a + b, 0) || 1;
	return Object.entries(answers)
		.sort((a, b) => b[1] - a[1])
		.map(([key, count]) => `${key} ${Math.round((100 * count) / total)} %`)
		.join(', ');
}
