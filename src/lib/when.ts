/** Every page shows a moment the same way, in UTC (the server's and the audit log's clock): 2026-12-03 10:41:35 UTC. */
export function formatMoment(ms: number): string {
	return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}
