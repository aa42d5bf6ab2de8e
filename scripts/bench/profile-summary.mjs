// Summarises a V8 .cpuprofile (node --cpu-prof): self time and inclusive time by
// function + script, and self time by script (where the time goes, module by module).
//   node scripts/bench/profile-summary.mjs FILE.cpuprofile [--top 15] [--json]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/**
 * The parts of a V8 .cpuprofile read here.
 * @typedef {object} ProfileNode
 * @property {number} id
 * @property {{ functionName: string, url: string, lineNumber: number }} callFrame
 * @property {number[]} [children]
 */
/** @typedef {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[] }} CpuProfile */
/** @typedef {{ name: string, ms: number, pctOfBusy: number }} Ranked one function or script and its time */
/**
 * @typedef {object} Summary
 * @property {number} totalMs
 * @property {number} idleMs
 * @property {number} busyMs
 * @property {Ranked[]} self
 * @property {Ranked[]} inclusive
 * @property {Ranked[]} scripts
 */

/**
 * @param {CpuProfile} profile
 * @param {{ top?: number }} [options]
 * @returns {Summary}
 */
export function summarise(profile, { top = 15 } = {}) {
	const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
	/** @param {number} id */
	const nodeOf = (id) => {
		const node = nodes.get(id);
		if (!node) throw new Error(`the profile has no node ${id}`);
		return node;
	};
	/** @type {Map<number, number>} */
	const parent = new Map();
	for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
	/** @param {string} url */
	const short = (url) =>
		(url || '')
			.replace(/^file:\/\/\/tmp\/doorcode-bench-app-[^/]+\//, '')
			.replace(/^file:\/\/.*?\/node_modules\//, 'node_modules/')
			.replace(/^file:\/\//, '');
	/** @param {ProfileNode} node */
	const key = (node) => {
		const { functionName, url, lineNumber } = node.callFrame;
		return `${functionName || '(anonymous)'} ${short(url)}${url ? `:${lineNumber + 1}` : ''}`;
	};
	/** @param {ProfileNode} node */
	const scriptOf = (node) => short(node.callFrame.url) || node.callFrame.functionName || '(native)';

	/** @type {Map<string, number>} */
	const self = new Map();
	/** @type {Map<string, number>} */
	const inclusive = new Map();
	/** @type {Map<string, number>} */
	const byScript = new Map();
	let total = 0;
	let idle = 0;
	const { samples, timeDeltas } = profile;
	for (let i = 0; i < samples.length; i++) {
		// timeDeltas[i] is the time before sample i; attribute the interval to sample i (as DevTools does, near enough).
		const dt = timeDeltas[i + 1] ?? 0;
		const node = nodeOf(samples[i]);
		total += dt;
		if (node.callFrame.functionName === '(idle)') idle += dt;
		const k = key(node);
		self.set(k, (self.get(k) ?? 0) + dt);
		const script = scriptOf(node);
		byScript.set(script, (byScript.get(script) ?? 0) + dt);
		const seen = new Set();
		for (let /** @type {number | undefined} */ id = node.id; id !== undefined; id = parent.get(id)) {
			const ak = key(nodeOf(id));
			if (seen.has(ak)) continue;
			seen.add(ak);
			inclusive.set(ak, (inclusive.get(ak) ?? 0) + dt);
		}
	}
	const busy = total - idle;
	/** @param {Map<string, number>} map @param {number} n @returns {Ranked[]} */
	const rank = (map, n) =>
		[...map.entries()]
			.filter(([k]) => !k.startsWith('(root)') && !k.startsWith('(idle)'))
			.sort((a, b) => b[1] - a[1])
			.slice(0, n)
			.map(([name, us]) => ({ name, ms: us / 1000, pctOfBusy: (100 * us) / busy }));
	return {
		totalMs: total / 1000,
		idleMs: idle / 1000,
		busyMs: busy / 1000,
		self: rank(self, top),
		inclusive: rank(inclusive, top * 3),
		scripts: rank(byScript, top)
	};
}

/**
 * @param {Summary} summary
 * @param {{ top?: number }} [options]
 */
export function formatSummary(summary, { top = 15 } = {}) {
	/** @param {string} title @param {Ranked[]} rows */
	const table = (title, rows) =>
		[
			`${title}`,
			'',
			'| # | function (script:line) | ms | % of busy |',
			'| --- | --- | --- | --- |',
			...rows.map((r, i) => `| ${i + 1} | \`${r.name}\` | ${r.ms.toFixed(0)} | ${r.pctOfBusy.toFixed(1)} |`),
			''
		].join('\n');
	return [
		`Profile: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.idleMs.toFixed(0)} ms idle, ${summary.busyMs.toFixed(0)} ms busy.`,
		'',
		table(`Top ${top} by self time`, summary.self.slice(0, top)),
		table('Top by inclusive time (self + callees)', summary.inclusive),
		table('Self time by script', summary.scripts)
	].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
	const { values, positionals } = parseArgs({
		allowPositionals: true,
		options: { top: { type: 'string', default: '15' }, json: { type: 'boolean', default: false } }
	});
	if (positionals.length !== 1) {
		console.error('usage: node scripts/bench/profile-summary.mjs FILE.cpuprofile [--top 15] [--json]');
		process.exit(2);
	}
	const top = Number(values.top);
	const summary = summarise(JSON.parse(readFileSync(positionals[0], 'utf8')), { top });
	console.log(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary, { top }));
}
