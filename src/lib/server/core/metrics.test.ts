import { afterEach, describe, expect, it } from 'vitest';
import { countAuthorizationCode, countDeviceFlow, countSignIn, enableMetrics, metricsText } from './metrics';

/** One sample's value in the scraped text; null when the series is not there. */
async function sample(series: string): Promise<number | null> {
	const line = (await metricsText()).split('\n').find((text) => text.startsWith(`${series} `));
	return line === undefined ? null : Number(line.slice(series.length + 1));
}

afterEach(() => enableMetrics(true));

describe('the device flow family (SPEC)', () => {
	it('shows every device-flow event at 0 before the first one, and counts one', async () => {
		for (const event of ['issued', 'entered', 'approved', 'denied', 'expired', 'redeemed', 'slow_down', 'replayed']) {
			expect(await sample(`doorcode_device_flow_events_total{event="${event}"}`), event).toBe(0);
		}
		countDeviceFlow('slow_down');
		expect(await sample('doorcode_device_flow_events_total{event="slow_down"}')).toBe(1);
	});
});

describe('the authorization code and sign-in families', () => {
	it('shows every authorization code event at 0 before the first one, so a dashboard has the series', async () => {
		for (const event of ['issued', 'denied', 'redeemed', 'replayed', 'refused']) {
			expect(await sample(`doorcode_authorization_code_events_total{event="${event}"}`), event).toBe(0);
		}
	});

	it('counts an event and a sign-in by provider and outcome', async () => {
		countAuthorizationCode('redeemed');
		countSignIn('acme', 'unreachable');
		countSignIn('acme', 'unreachable');
		expect(await sample('doorcode_authorization_code_events_total{event="redeemed"}')).toBe(1);
		expect(await sample('doorcode_sign_ins_total{provider="acme",outcome="unreachable"}')).toBe(2);
	});

	it('with METRICS=off counts nothing', async () => {
		const issued = await sample('doorcode_authorization_code_events_total{event="issued"}');
		enableMetrics(false);
		countAuthorizationCode('issued');
		countSignIn('orcid', 'ok');
		expect(await sample('doorcode_authorization_code_events_total{event="issued"}')).toBe(issued);
		expect(await sample('doorcode_sign_ins_total{provider="orcid",outcome="ok"}')).toBeNull();
	});
});
