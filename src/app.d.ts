import type { SessionRow } from '#lib/server/store.ts';

declare global {
	namespace App {
		interface Locals {
			/** The signed-in person, or null. */
			user: (SessionRow & { isAdmin: boolean }) | null;
			sessionToken: string | null;
		}
		interface Error {
			message: string;
		}
	}
}

export {};
