// The benchmark's reporting half (scripts/bench.mjs measures with phases.mjs, then calls
// this): the results as Markdown tables on standard output (every figure, then the targets),
// the smoke verdict that fails `npm test` on dropped connections or wrong answers, and with
// --write the tables into docs/performance.md (write-page.mjs).
import { fmt, hasTaskset } from './lib.mjs';
import { median } from './runs.mjs';
import { describeAnswers } from './load.mjs';
import { PERFORMANCE_PAGE, writeResults } from './write-page.mjs';

/** @import { Figure, Settings } from './runs.mjs' */
/** @import { SizeResult } from './phases.mjs' */
/** @typedef {Map<number, SizeResult>} Results each size N and what was measured at it, in the order of the sizes */
/**
 * The machine the bench ran on.
 * @typedef {object} Machine
 * @property {string} date YYYY-MM-DD
 * @property {string} node Node's version
 * @property {string} cpu the CPU's model
 * @property {number} cpuCount
 * @property {number} busyAtStart CPUs kept busy by other processes before the first run
 * @property {number} busyAtEnd and after the last
 */

/** @param {number} a @param {number} b */
const ratio = (a, b) => (b ? `${(a / b).toFixed(2)}×` : '—');
/** "14,158 /s (13,902–14,511)": the median and, with repeats, the range of the runs. @param {Figure} r */
const rate = (r) => `${fmt(r.rps)} /s${r.rpsRuns.length > 1 ? ` (${fmt(Math.min(...r.rpsRuns))}–${fmt(Math.max(...r.rpsRuns))})` : ''}`;

/** One line on how the bench runs, said when it starts and at the head of the report. @param {Settings} s */
export const describeSetup = (s) =>
	`${s.sizes.length === 1 ? 'size' : 'sizes'} ${s.sizes.join(', ')}; ${s.duration} s per run (median of ${s.repeat}, doorcode and baseline alternating) after a ${s.warmup} s warm-up; ${s.connections} connections; load from ${s.generator}${hasTaskset ? '; servers on CPU 0, load on CPU 1' : ' (no taskset: nothing pinned)'}; doorcode with ${s.devIdp ? 'DEV_IDP=1' : 'ORCID configured, no DEV_IDP'}`;

/**
 * The rows of the table of figures: metric, N, doorcode, baseline, ratio.
 * @param {Results} results
 * @param {number} duration seconds per run
 */
function figureRows(results, duration) {
	/** @type {string[]} */
	const rows = [];
	/**
	 * @param {string} metric
	 * @param {number} n
	 * @param {number | string} ours
	 * @param {number | string | null} base null when there is no baseline
	 * @param {string} [unit] after a number
	 * @param {number} [digits]
	 * @param {string} [ratioText] else doorcode/baseline when both are numbers
	 */
	const row = (metric, n, ours, base, unit = '', digits = 0, ratioText) =>
		rows.push(
			`| ${metric} | ${fmt(n)} | ${typeof ours === 'string' ? ours : fmt(ours, digits) + unit} | ${base === null ? '—' : typeof base === 'string' ? base : fmt(base, digits) + unit} | ${ratioText ?? (typeof ours === 'string' || base === null || typeof base === 'string' ? '—' : ratio(ours, base))} |`
		);
	for (const [n, { ours, base, sweep, metrics, flood, clients, dpop, postgres }] of results) {
		row('poll throughput', n, rate(ours.poll), rate(base.poll), '', 0, ratio(ours.poll.rps, base.poll.rps));
		row('poll p50 latency', n, ours.poll.p50, base.poll.p50, ' ms', 2);
		row('poll p99 latency', n, ours.poll.p99, base.poll.p99, ' ms', 2);
		row('poll answers', n, describeAnswers(ours.poll.answers), describeAnswers(base.poll.answers));
		row('creation throughput', n, rate(ours.create), rate(base.create), '', 0, ratio(ours.create.rps, base.create.rps));
		row('creation p50 latency', n, ours.create.p50, base.create.p50, ' ms', 2);
		row('creation p99 latency', n, ours.create.p99, base.create.p99, ' ms', 2);
		row('peak RSS (VmHWM) after the poll runs', n, ours.pollRss, base.pollRss, ' MB', 1);
		row('peak RSS (VmHWM) after poll and creation runs', n, ours.createRss, base.createRss, ' MB', 1);
		row('database bytes per pending code', n, ours.bytesPerCode, base.bytesPerCode, ' B');
		row(`largest WAL at the end of a ${duration} s poll run`, n, ours.poll.walMb, base.poll.walMb, ' MB', 1);
		row(`poll throughput, N live + N expired rows, sweeper idle`, n, `${rate(sweep.idle.poll)}; WAL up to ${fmt(sweep.idle.poll.walMb)} MB`, null, '');
		row(
			`poll throughput, same rows, SWEEP_INTERVAL=1 (${fmt(n - sweep.sweeping.expiredLeft)} of ${fmt(n)} expired rows swept over the runs)`,
			n,
			`${rate(sweep.sweeping.poll)}; WAL up to ${fmt(sweep.sweeping.poll.walMb)} MB`,
			null,
			'',
			0,
			`${ratio(sweep.sweeping.poll.rps, sweep.idle.poll.rps)} of idle`
		);
		row('poll throughput, METRICS=off (fresh servers)', n, rate(metrics.off), null, '');
		row('poll throughput, METRICS=on (fresh servers)', n, rate(metrics.on), null, '', 0, `${ratio(metrics.on.rps, metrics.off.rps)} of off`);
		row('poll throughput, rate limits on, no flood (fresh servers)', n, rate(flood.quiet), null, '');
		row(
			`poll throughput during a flood of new addresses (${fmt(flood.floodRate)} /s, ${fmt(flood.floodAddresses)} addresses a run)`,
			n,
			`${rate(flood.flooded)}; p50 ${fmt(flood.flooded.p50, 2)} ms`,
			null,
			'',
			0,
			`${ratio(flood.flooded.rps, flood.quiet.rps)} of no flood`
		);
		row(`poll throughput, ${fmt(clients.clientsStored)} clients, none changing (fresh servers)`, n, rate(clients.quiet), null, '');
		row(
			'poll throughput while a client is added every 100 ms (each instance reloading its clients once a second)',
			n,
			rate(clients.changing),
			null,
			'',
			0,
			`${ratio(clients.changing.rps, clients.quiet.rps)} of none changing`
		);
		row(
			`a new client serves codes after (${clients.servedAfterMs.length} clients, from the insert)`,
			n,
			`median ${fmt(median(clients.servedAfterMs))} ms, at most ${fmt(Math.max(...clients.servedAfterMs))} ms`,
			null,
			''
		);
		row('poll throughput, codes without a key (fresh servers, autocannon)', n, rate(dpop.plain), null, '');
		row(
			'poll throughput, a DPoP proof per poll, codes bound to its key (fresh servers, autocannon)',
			n,
			`${rate(dpop.dpop)}; p50 ${fmt(dpop.dpop.p50, 2)} ms, p99 ${fmt(dpop.dpop.p99, 2)} ms`,
			null,
			'',
			0,
			`${ratio(dpop.dpop.rps, dpop.plain.rps)} of no key`
		);
		row('DPoP poll answers', n, describeAnswers(dpop.dpop.answers), null);
		if (postgres) {
			const pg = postgres;
			row('PostgreSQL: poll throughput', n, rate(pg.ours.poll), rate(pg.base.poll), '', 0, ratio(pg.ours.poll.rps, pg.base.poll.rps));
			row('PostgreSQL: poll p99 latency', n, pg.ours.poll.p99, pg.base.poll.p99, ' ms', 2);
			row('PostgreSQL: poll answers', n, describeAnswers(pg.ours.poll.answers), describeAnswers(pg.base.poll.answers));
			row('PostgreSQL: creation throughput', n, rate(pg.ours.create), rate(pg.base.create), '', 0, ratio(pg.ours.create.rps, pg.base.create.rps));
			row('PostgreSQL: creation p99 latency', n, pg.ours.create.p99, pg.base.create.p99, ' ms', 2);
			row('PostgreSQL: database transactions per pending poll (round trips)', n, pg.transactionsPerPoll, null, '', 2);
			row('PostgreSQL: poll throughput, codes without a key (autocannon)', n, rate(pg.dpop.plain), null, '');
			row(
				'PostgreSQL: poll throughput, a DPoP proof per poll',
				n,
				`${rate(pg.dpop.dpop)}; p99 ${fmt(pg.dpop.dpop.p99, 2)} ms`,
				null,
				'',
				0,
				`${ratio(pg.dpop.dpop.rps, pg.dpop.plain.rps)} of no key`
			);
			row('PostgreSQL: database transactions per DPoP poll (the proof, the poll)', n, pg.dpop.transactionsPerPoll ?? 0, null, '', 2);
			row(
				'PostgreSQL: poll throughput, 2 instances on one database',
				n,
				rate(pg.twoInstances),
				null,
				'',
				0,
				`${ratio(pg.twoInstances.rps, pg.ours.poll.rps)} of 1 instance`
			);
		}
	}
	return rows;
}

/** Runs that dropped connections or timed out, one line each. @param {Results} results */
function transportErrors(results) {
	return [...results].flatMap(([n, { ours, base, sweep, flood, clients, dpop, postgres }]) => {
		/** @type {[string, Figure][]} */
		const runs = [
			['doorcode poll', ours.poll],
			['doorcode creation', ours.create],
			['baseline poll', base.poll],
			['baseline creation', base.create],
			['sweep idle', sweep.idle.poll],
			['sweeping', sweep.sweeping.poll],
			['polls during the flood', flood.flooded],
			['polls while clients change', clients.changing],
			['polls without a key', dpop.plain],
			['DPoP polls', dpop.dpop]
		];
		if (postgres)
			runs.unshift(
				['polls without a key on PostgreSQL', postgres.dpop.plain],
				['DPoP polls on PostgreSQL', postgres.dpop.dpop],
				['doorcode poll on PostgreSQL', postgres.ours.poll],
				['doorcode creation on PostgreSQL', postgres.ours.create],
				['baseline poll on PostgreSQL', postgres.base.poll],
				['baseline creation on PostgreSQL', postgres.base.create]
			);
		return runs.filter(([, r]) => r.errors).map(([what, r]) => `${what} at N = ${fmt(n)}: ${fmt(r.errors)} connection errors or timeouts`);
	});
}

/** The rows of the table of targets: target, PASS or MISS, measured. @param {Results} results @param {number[]} sizes */
function targetRows(results, sizes) {
	const all = [...results];
	/** @param {number} n */
	const at = (n) => {
		const result = results.get(n);
		if (!result) throw new Error(`bench: no results for N = ${n}`);
		return result;
	};
	const smallestN = sizes[0];
	const largestN = sizes[sizes.length - 1];
	const smallest = at(smallestN);
	const largest = at(largestN);
	/** @param {(r: SizeResult) => string} f */
	const each = (f) => all.map(([n, r]) => `${fmt(n)}: ${f(r)}`).join(', ');
	/** @param {string} name @param {boolean} met @param {string} detail */
	const target = (name, met, detail) => `| ${name} | ${met ? 'PASS' : 'MISS'} | ${detail} |`;
	return [
		target(
			'poll throughput ≥ 0.8× baseline',
			all.every(([, r]) => r.ours.poll.rps >= 0.8 * r.base.poll.rps),
			each((r) => ratio(r.ours.poll.rps, r.base.poll.rps))
		),
		target(
			'poll p99 ≤ 1.5× baseline',
			all.every(([, r]) => r.ours.poll.p99 <= 1.5 * r.base.poll.p99),
			each((r) => ratio(r.ours.poll.p99, r.base.poll.p99))
		),
		target(
			'creation throughput ≥ 0.8× baseline',
			all.every(([, r]) => r.ours.create.rps >= 0.8 * r.base.create.rps),
			each((r) => ratio(r.ours.create.rps, r.base.create.rps))
		),
		target(
			'creation p99 ≤ 30 ms',
			all.every(([, r]) => r.ours.create.p99 <= 30),
			each((r) => `${fmt(r.ours.create.p99, 1)} ms`)
		),
		target(
			`poll throughput within 15 % from smallest to largest N${sizes.length < 2 ? ' (one size: trivially)' : ''}`,
			Math.abs(largest.ours.poll.rps / smallest.ours.poll.rps - 1) <= 0.15,
			`N = ${fmt(largestN)} vs ${fmt(smallestN)}: ${ratio(largest.ours.poll.rps, smallest.ours.poll.rps)}`
		),
		target(
			'peak RSS ≤ 150 MB at the largest N',
			Math.max(largest.ours.pollRss, largest.ours.createRss) <= 150,
			`${fmt(Math.max(largest.ours.pollRss, largest.ours.createRss), 1)} MB`
		),
		target(
			'a new client serves codes within 2 s (SPEC)',
			all.every(([, r]) => Math.max(...r.clients.servedAfterMs) < 2_000),
			each((r) => `at most ${fmt(Math.max(...r.clients.servedAfterMs))} ms`)
		),
		target(
			'sweeping costs the poll rate < 10 %',
			all.every(([, r]) => r.sweep.sweeping.poll.rps > 0.9 * r.sweep.idle.poll.rps),
			each((r) => `${ratio(r.sweep.sweeping.poll.rps, r.sweep.idle.poll.rps)} of idle`)
		),
		target(
			'DPoP polls ≥ 0.7× polls without a key',
			all.every(([, r]) => r.dpop.dpop.rps >= 0.7 * r.dpop.plain.rps),
			each((r) => ratio(r.dpop.dpop.rps, r.dpop.plain.rps))
		)
	];
}

// The smoke run in npm test fails when a connection dropped or doorcode answered anything a
// waiting CLI or a new code should not get: the numbers themselves are never judged there.
const POLL_ANSWERS = ['authorization_pending', 'slow_down'];
/** doorcode's answers no client should have had, one line each. @param {Results} results */
function wrongAnswers(results) {
	return [...results].flatMap(([n, r]) => {
		/** @type {[string, { poll: Figure, create: Figure } | undefined, Figure | undefined][]} */
		const places = [
			['', r.ours, r.dpop.dpop],
			[' on PostgreSQL', r.postgres?.ours, r.postgres?.dpop.dpop]
		];
		/** @param {Figure} figure @param {string[]} expected @param {string} what */
		const unexpected = (figure, expected, what) =>
			Object.keys(figure.answers)
				.filter((key) => !expected.includes(key))
				.map((key) => `doorcode answered ${what} with ${key} at N = ${fmt(n)}`);
		return places.flatMap(([where, ours, dpopPolls]) => [
			...(ours ? [...unexpected(ours.poll, POLL_ANSWERS, `a pending poll${where}`), ...unexpected(ours.create, ['ok'], `a new code request${where}`)] : []),
			...(dpopPolls ? unexpected(dpopPolls, POLL_ANSWERS, `a DPoP poll${where}`) : [])
		]);
	});
}

/**
 * The report: the tables on standard output; each problem on standard error, failing the
 * process (exit status 1); with `write`, the tables into docs/performance.md.
 * @param {object} report
 * @param {Results} report.results
 * @param {Settings} report.settings
 * @param {Machine} report.machine
 * @param {string | null} report.commandLine the command to name on the page when writing it, else null
 * @param {(line: string) => void} report.say
 */
export async function report({ results, settings, machine, commandLine, say }) {
	const errors = transportErrors(results);
	const { busyAtStart, busyAtEnd } = machine;
	const table = [
		`Measured ${machine.date} with Node ${machine.node} on ${machine.cpu} (${machine.cpuCount} CPUs): ${describeSetup(settings)}. ` +
			'Polls cycle round-robin through the N pending codes; "poll answers" says which answer dominated (the baseline has no slow_down). ' +
			"Throughput cells give the median and, in brackets, the range of the runs; latencies are medians of the runs' percentiles. " +
			'Bytes per code are the database growth after a checkpoint divided by N. ' +
			(settings.truncateWal
				? 'The WAL is checkpointed and truncated from outside before every run. '
				: 'The WAL is left as each phase left it, as on a running server (--truncate-wal empties it before every run). ') +
			"The baseline reads its poll's `UPDATE … RETURNING` with better-sqlite3's .get(), which never lets SQLite auto-checkpoint, so its WAL grows by a page per poll; doorcode's waiting polls write nothing (a SELECT; the poll clock is in memory), so its WAL holds only what creation and slow_down wrote (see the WAL row). Ratios are doorcode/baseline; they travel between machines, absolute numbers do not. " +
			`Other processes kept ${busyAtStart} CPUs busy before the first run and ${busyAtEnd} after the last${Math.max(busyAtStart, busyAtEnd) > 0.2 ? ': the machine was not quiet, treat the numbers with care' : ''}.`,
		'',
		'| metric | N | doorcode | baseline | ratio |',
		'| --- | --- | --- | --- | --- |',
		...figureRows(results, settings.duration),
		'',
		'| target | result | measured |',
		'| --- | --- | --- |',
		...targetRows(results, settings.sizes),
		...(errors.length ? ['', ...errors.map((line) => `- ${line}`)] : [])
	].join('\n');
	console.log(table);
	for (const problem of [...errors, ...wrongAnswers(results)]) {
		console.error(`bench: ${problem}`);
		process.exitCode = 1;
	}
	if (commandLine !== null) {
		await writeResults(table, commandLine);
		say(`wrote the tables into ${PERFORMANCE_PAGE}`);
	}
}
