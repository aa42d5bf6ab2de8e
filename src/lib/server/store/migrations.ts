/**
 * Both engines' migrations: numbered `.sql` files (001_initial.sql, …) by name, in the order
 * they apply. Each engine hands in its own folder's files (import.meta.glob needs a literal path).
 */
export function orderMigrations(files: Record<string, string>): [name: string, sql: string][] {
	return Object.entries(files)
		.map(([file, sql]): [string, string] => [file.slice(file.lastIndexOf('/') + 1), sql])
		.sort(([a], [b]) => a.localeCompare(b));
}
