import type { Client } from '../../core/clients';
import type { Store } from '../store';
import type { Connection } from './connection';

/** The clients of CLIENTS_FILE, as the grants and approvals lists name them. */
export function clients(db: Connection) {
	const clientsDelete = db.prepare(`DELETE FROM clients`);
	const clientInsert = db.prepare<[string, string, string, string]>(`INSERT INTO clients (id, name, type, scopes) VALUES (?, ?, ?, ?)`);
	const replace = db.transaction((clients: Client[]) => {
		clientsDelete.run();
		for (const c of clients) clientInsert.run(c.id, c.name, c.type, c.scopes.join(' '));
	});
	const replaceClients: Store['replaceClients'] = async (clients) => replace(clients);

	return { replaceClients };
}
