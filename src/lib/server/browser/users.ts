import type { Config } from '../core/config';
import type { Identity } from './providers/upstream';
import type { Services } from '../core/services';
import type { User } from '../store/store';

/** Records who signed in, keeping the newest name, email and groups the provider gave (groups only from a provider that speaks of them). */
export function recordSignIn({ store }: Services, identity: Identity, now: number): Promise<User> {
	const { sub, provider, name, email, groups } = identity;
	return store.upsertUser({ sub, provider, name, email, groups }, now);
}

/** ADMIN_SUBJECTS names admins by sub, or by an email address their provider vouched for. */
export function isAdmin(config: Config, user: { sub: string; email: string | null }): boolean {
	return config.adminSubjects.includes(user.sub) || (user.email !== null && config.adminSubjects.includes(`email:${user.email}`));
}
