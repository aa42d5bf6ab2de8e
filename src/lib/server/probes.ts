import type { Services } from './services';
import { DatabaseUnavailable } from './store';

/**
 * What Kubernetes' probes and load balancers ask. Liveness: the process serves. Readiness:
 * the database answers and its schema is the one this build expects; an instance that is
 * not ready is taken out of rotation until it is again.
 */
export type Readiness = { status: 200; body: { status: 'ready' } } | { status: 503; body: { status: 'unavailable'; reason: string } };

export async function readiness({ store }: Services): Promise<Readiness> {
	try {
		if (await store.schemaIsCurrent()) return { status: 200, body: { status: 'ready' } };
		return { status: 503, body: { status: 'unavailable', reason: 'the database schema is older than this build: run the migrations' } };
	} catch (caught) {
		if (caught instanceof DatabaseUnavailable) return { status: 503, body: { status: 'unavailable', reason: 'the database cannot be reached' } };
		throw caught;
	}
}
