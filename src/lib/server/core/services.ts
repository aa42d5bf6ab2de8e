import { openClientCache, type ClientCache } from './client-cache';
import type { Config } from './config';
import { NO_LIMITS, type Limiter } from './rate-limit';
import type { Database, Store } from '../store/store';

/** What the domain functions run against: built once at start-up (hooks.server.ts), or by a test. */
export interface Services {
	config: Config;
	store: Store;
	/** The clients, kept in memory and following every change (client-cache.ts). */
	clients: ClientCache;
	limiter: Limiter;
}

/** Who is asking, as the endpoints see it; no framework types. */
export interface RequestContext {
	now: number;
	/** The HTTP method, which a DPoP proof names (its htm). */
	method: string;
	ip: string | null;
	userAgent: string | null;
	authorization: string | null;
	/** The DPoP header: a proof of possession of a key (RFC 9449), as sent. */
	dpop: string | null;
}

let current: Services | undefined;

export function setServices(services: Services): void {
	current = services;
}

export function services(): Services {
	if (!current) throw new Error('doorcode services used before start-up finished');
	return current;
}

/**
 * The services on an opened database, its clients loaded. CLIENTS_FILE is not applied here:
 * the server does that at start-up (oauth/client-registry.ts declareClientsFile), the
 * operator's command never does. Close `clients` before the store.
 */
export async function createServices(config: Config, { store, limiter }: Database): Promise<Services> {
	return {
		config,
		store,
		clients: await openClientCache(store),
		limiter: config.rateLimits ? limiter : NO_LIMITS
	};
}
