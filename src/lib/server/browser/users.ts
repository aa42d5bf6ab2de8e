import type { Config } from '../core/config';
import type { Identity } from './providers';
import type { Services } from '../core/services';
import type { User } from '../store/store';

/** Records who signed in, keeping the newest name and email the provider gave. */
export function recordSignIn({ store }: Services, identity: Identity, now: number): Promise<User> {
	return store.upsertUser({ sub: identity.sub, provider: identity.provider, name: identity.name, email: identity.email }, now);
}

/** ADMIN_SUBJECTS names admins by sub, or by an email address their provider vouched for. */
export function isAdmin(config: Config, user: { sub: string; email: string | null }): boolean {
	return config.adminSubjects.includes(user.sub) || (user.email !== null && config.adminSubjects.includes(`email:${user.email}`));
}
