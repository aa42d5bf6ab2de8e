import type { Client, ClientLookup } from './clients';
import type { StoredClient, DatabaseUnavailable, Store } from '../store/store';

/**
 * This instance's copy of the clients, so that finding one is a lookup in memory, never a
 * query on the poll's path. It reads the clients' version every second and reloads them
 * when it moved, so every instance sees a change another made within about a second (SPEC:
 * within 2); a change this instance makes is followed by `refresh()`, seen at once.
 */
export interface ClientCache extends ClientLookup {
	/** A client that may act now: known and not disabled. */
	get(id: string): Client | undefined;
	has(id: string): boolean;
	/** Every client that may act now, by id. */
	enabled(): Client[];
	/** Reloads now: after a change made by this instance. */
	refresh(): Promise<void>;
	/** Stops checking for changes. */
	close(): void;
}

/** How often each instance reads the clients' version. */
export const CLIENT_CHECK_MS = 1_000;

export async function openClientCache(store: Store, checkEveryMs = CLIENT_CHECK_MS): Promise<ClientCache> {
	let enabled = new Map<string, StoredClient>();
	let loadedVersion = -1;
	let loadsStarted = 0;
	let newestLoaded = 0;

	/** The version is read before the rows: a change between the two reads is loaded again at the next check. */
	const load = async () => {
		const load = ++loadsStarted;
		const version = await store.clientsVersion();
		const rows = await store.listClients('');
		// Of two loads in flight, the one started last wins (a version may go back: a restored backup).
		if (load < newestLoaded) return;
		newestLoaded = load;
		loadedVersion = version;
		enabled = new Map(rows.filter((row) => row.disabledAt === null).map((row) => [row.id, row]));
	};
	await load();

	let checking = false;
	const check = async () => {
		if (checking) return;
		checking = true;
		try {
			if ((await store.clientsVersion()) !== loadedVersion) await load();
		} catch (error) {
			// While the database is out of reach the clients last loaded keep serving; /readyz says it is down.
			// (By name: core may not import the store's classes at run time.)
			if ((error as Error).name !== ('DatabaseUnavailable' satisfies DatabaseUnavailable['name']))
				console.error(JSON.stringify({ level: 'error', msg: 'reloading the clients failed', error: (error as Error).message }));
		} finally {
			checking = false;
		}
	};
	const timer = setInterval(() => void check(), checkEveryMs);
	timer.unref();

	return {
		get: (id) => enabled.get(id),
		has: (id) => enabled.has(id),
		enabled: () => [...enabled.values()],
		refresh: load,
		close: () => clearInterval(timer)
	};
}
