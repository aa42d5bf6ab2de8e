import { recordRateLimit } from '../core/audit';
import { countRateLimitRefusal } from '../core/metrics';
import type { Verdict } from '../core/rate-limit';
import type { RequestContext, Services } from '../core/services';
import type { LimitCharge } from '../store/store';
import { tooManyRequests, type OAuthResult } from './errors';

/** A limit a request of the JSON API counts against, and how its refusal names what was limited. */
export interface ApiLimit extends LimitCharge {
	/** "new codes from this address": the refusal says "Too many new codes from this address." */
	what: string;
}

/**
 * A refusal by a limit: 429 with Retry-After, counted in the metrics by the key's fixed prefix
 * (device-ip, device-client, token-ip; never the key itself), and audited once per window.
 */
export async function limitRefusal(
	services: Services,
	{ key, what }: ApiLimit,
	verdict: Verdict & { ok: false },
	context: RequestContext
): Promise<OAuthResult> {
	countRateLimitRefusal(key.slice(0, key.indexOf(':')));
	await recordRateLimit(services, verdict, what, context.ip, context.now);
	return tooManyRequests(verdict.retryAfter, `Too many ${what}.`);
}

/** Counts a request against `limit`: null when allowed, else the 429 to answer. */
export async function limited(services: Services, limit: ApiLimit, context: RequestContext): Promise<OAuthResult | null> {
	const verdict = await services.limiter.consume(limit.key, limit.limit, context.now);
	return verdict.ok ? null : limitRefusal(services, limit, verdict, context);
}
