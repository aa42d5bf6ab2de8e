import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter';
import { installCommand, missingFrom, PROGRAMS, type Program } from './requires.ts';

/**
 * Ends the run with one plain "N passed, N failed" line that any CI can read. When tests were
 * skipped for a missing system program (tests/support/requires.ts), the line before it says
 * how many, which programs, and the one command that installs them.
 */
export default class SummaryReporter implements Reporter {
	private passed = 0;
	private failed = 0;
	private skipped = 0;
	private notRun = 0;
	private missing = new Set<Program>();

	onTestEnd(test: TestCase, result: TestResult) {
		if (result.status === 'skipped') {
			this.skipped++;
			const programs = [...test.annotations, ...result.annotations].filter((note) => note.type === 'skip').flatMap((note) => missingFrom(note.description));
			if (programs.length) this.notRun++;
			for (const program of programs) this.missing.add(program);
		} else if (test.outcome() === 'expected' || test.outcome() === 'flaky') this.passed++;
		else if (result.retry === test.retries) this.failed++;
	}

	onEnd(result: FullResult) {
		if (result.status === 'interrupted' || result.status === 'timedout') this.failed = Math.max(this.failed, 1);
		console.log('');
		if (this.notRun) {
			const programs = (Object.keys(PROGRAMS) as Program[]).filter((program) => this.missing.has(program));
			const tests = this.notRun === 1 ? '1 test needs' : `${this.notRun} tests need`;
			console.log(`not run: ${tests} ${programs.join(', ')}: ${installCommand(programs)}`);
		}
		console.log(`playwright: ${this.passed} passed, ${this.failed} failed${this.skipped ? `, ${this.skipped} skipped` : ''}`);
	}

	printsToStdio() {
		return false;
	}
}
