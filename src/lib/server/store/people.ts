/** What the store contract (store.ts) reads and writes of people and their browser sessions. */

export interface User {
	id: number;
	sub: string;
	provider: string;
	name: string | null;
	email: string | null;
	/** What the provider said at the last sign-in: organizations, teams, directory groups. */
	groups: string[];
}

/** A person as a provider describes them at sign-in; null name, email or groups keep what is stored. */
export interface NewUser {
	sub: string;
	provider: string;
	name: string | null;
	email: string | null;
	groups?: string[] | null;
}

/** A browser session, with its person. */
export interface Session {
	userId: number;
	expiresAt: number;
	sub: string;
	provider: string;
	name: string | null;
	email: string | null;
	groups: string[];
}
