import type { Client } from '../../core/clients';
import type { Store } from '../store';
import { CLIENTS_LOCK, type Connection } from './connection';

/** The clients of CLIENTS_FILE, as the grants and approvals lists name them. */
export function clients({ transaction }: Connection): Pick<Store, 'replaceClients'> {
	return {
		// Instances starting together each replace the clients: they take turns under a lock.
		replaceClients: (clients: Client[]) =>
			transaction(async (client) => {
				await client.query('SELECT pg_advisory_xact_lock($1)', [CLIENTS_LOCK]);
				await client.query(`DELETE FROM clients`);
				for (const c of clients)
					await client.query(`INSERT INTO clients (id, name, type, scopes) VALUES ($1, $2, $3, $4)`, [c.id, c.name, c.type, c.scopes.join(' ')]);
			})
	};
}
