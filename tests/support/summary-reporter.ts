import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter';

/** Ends the run with one plain "N passed, N failed" line that any CI can read. */
export default class SummaryReporter implements Reporter {
	private passed = 0;
	private failed = 0;
	private skipped = 0;

	onTestEnd(test: TestCase, result: TestResult) {
		if (result.status === 'skipped') this.skipped++;
		else if (test.outcome() === 'expected' || test.outcome() === 'flaky') this.passed++;
		else if (result.retry === test.retries) this.failed++;
	}

	onEnd(result: FullResult) {
		if (result.status === 'interrupted' || result.status === 'timedout') this.failed = Math.max(this.failed, 1);
		console.log(`\nplaywright: ${this.passed} passed, ${this.failed} failed${this.skipped ? `, ${this.skipped} skipped` : ''}`);
	}

	printsToStdio() {
		return false;
	}
}
