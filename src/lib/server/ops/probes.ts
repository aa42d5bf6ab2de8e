import type { Services } from '../core/services';
import { keyring, SigningKeysUnusable } from '../oauth/signing-keys';
import { DatabaseUnavailable } from '../store/store';

/**
 * What Kubernetes' probes and load balancers ask. Liveness: the process serves. Readiness:
 * the database answers, its schema is the one this build expects and the signing keys open; an instance that is
 * not ready is taken out of rotation until it is again.
 */
export type Readiness = { status: 200; body: { status: 'ready' } } | { status: 503; body: { status: 'unavailable'; reason: string } };

export async function readiness(services: Services, now: number): Promise<Readiness> {
	try {
		if (!(await services.store.schemaIsCurrent())) {
			return { status: 503, body: { status: 'unavailable', reason: 'the database schema is older than this build: run the migrations' } };
		}
		// An instance that cannot sign would answer every OpenID and JWT request with an error.
		await keyring(services, now);
		return { status: 200, body: { status: 'ready' } };
	} catch (caught) {
		if (caught instanceof DatabaseUnavailable) return { status: 503, body: { status: 'unavailable', reason: 'the database cannot be reached' } };
		if (caught instanceof SigningKeysUnusable) return { status: 503, body: { status: 'unavailable', reason: caught.message } };
		throw caught;
	}
}
