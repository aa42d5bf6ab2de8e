// Summarises a V8 .cpuprofile (node --cpu-prof): self time and inclusive time by
// function + script, and self time by script (where the time goes, module by module).
//   node scripts/bench/profile-summary.mjs FILE.cpuprofile [--top 15] [--json]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

export function summarise(profile, { top = 15 } = {}) {
	const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
	const parent = new Map();
	for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
	const short = (url) =>
		(url || '')
			.replace(/^file:\/\/\/tmp\/doorcode-bench-app-[^/]+\//, '')
			.replace(/^file:\/\/.*?\/node_modules\//, 'node_modules/')
			.replace(/^file:\/\//, '');
	const key = (node) => {
		const { functionName, url, lineNumber } = node.callFrame;
		return `${functionName || '(anonymous)'} ${short(url)}${url ? `:${lineNumber + 1}` : ''}`;
	};
	const scriptOf = (node) => short(node.callFrame.url) || node.callFrame.functionName || '(native)';

	const self = new Map();
	const inclusive = new Map();
	const byScript = new Map();
	let total = 0;
	let idle = 0;
	const { samples, timeDeltas } = profile;
	for (let i = 0; i < samples.length; i++) {
		// timeDeltas[i] is the time before sample i; attribute the interval to sample i (as DevTools does, near enough).
		const dt = timeDeltas[i + 1] ?? 0;
		const node = nodes.get(samples[i]);
		total += dt;
		if (node.callFrame.functionName === '(idle)') idle += dt;
		const k = key(node);
		self.set(k, (self.get(k) ?? 0) + dt);
		const script = scriptOf(node);
		byScript.set(script, (byScript.get(script) ?? 0) + dt);
		const seen = new Set();
		for (let id = node.id; id !== undefined; id = parent.get(id)) {
			const ak = key(nodes.get(id));
			if (seen.has(ak)) continue;
			seen.add(ak);
			inclusive.set(ak, (inclusive.get(ak) ?? 0) + dt);
		}
	}
	const busy = total - idle;
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

export function formatSummary(summary, { top = 15 } = {}) {
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
