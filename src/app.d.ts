import type { Services } from '#lib/server/core/services.ts';
import type { SessionUser } from '#lib/server/browser/sessions.ts';

declare global {
	namespace App {
		interface Locals {
			/** What the domain functions run against (built once at start-up). */
			services: Services;
			/** The signed-in person, or null. */
			user: SessionUser | null;
			sessionToken: string | null;
			/** This request's id: its X-Request-Id and its log line. */
			requestId: string;
			/** Set when this request met a database outage: the answer becomes a 503. */
			databaseUnavailable: boolean;
		}
		interface Error {
			message: string;
		}
	}
}

export {};
