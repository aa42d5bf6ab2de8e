import type { Session, Store, User } from '../store';
import type { Connection } from './connection';
import { groupsJson } from '../columns';
import { written } from './shared';

/** Groups are stored as a JSON array of strings. */
type Stored<T extends { groups: string[] }> = Omit<T, 'groups'> & { groups: string };

function withGroups<T extends { groups: string[] }>(row: Stored<T> | undefined): T | undefined {
	return row && ({ ...row, groups: JSON.parse(row.groups) as string[] } as T);
}

/** People and their browser sessions. */
export function people(db: Connection) {
	const userUpsert = db.prepare<
		[{ sub: string; provider: string; name: string | null; email: string | null; groups: string | null; now: number }],
		Stored<User>
	>(
		`INSERT INTO users (sub, provider, name, email, groups, created_at, updated_at)
		 VALUES (:sub, :provider, :name, :email, coalesce(:groups, '[]'), :now, :now)
		 ON CONFLICT (sub) DO UPDATE SET
			name = coalesce(excluded.name, users.name),
			email = coalesce(excluded.email, users.email),
			groups = coalesce(:groups, users.groups),
			updated_at = excluded.updated_at
		 RETURNING id, sub, provider, name, email, groups`
	);
	const upsertUser: Store['upsertUser'] = async (user, now) =>
		withGroups<User>(
			written(userUpsert.all({ sub: user.sub, provider: user.provider, name: user.name, email: user.email, groups: groupsJson(user.groups), now }))
		) as User;

	const userBySub = db.prepare<[string], Stored<User>>(`SELECT id, sub, provider, name, email, groups FROM users WHERE sub = ?`);
	const findUserBySub: Store['findUserBySub'] = async (sub) => withGroups<User>(userBySub.get(sub));

	const sessionInsert = db.prepare<[Buffer, number, number, number]>(`INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`);
	const insertSession: Store['insertSession'] = async (tokenHash, userId, now, expiresAt) => void sessionInsert.run(tokenHash, userId, now, expiresAt);

	const sessionByHash = db.prepare<[Buffer], Stored<Session>>(
		`SELECT s.user_id AS userId, s.expires_at AS expiresAt, u.sub, u.provider, u.name, u.email, u.groups
		 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`
	);
	const findSession: Store['findSession'] = async (tokenHash) => withGroups<Session>(sessionByHash.get(tokenHash));

	const sessionExpiry = db.prepare<[number, Buffer]>(`UPDATE sessions SET expires_at = ? WHERE token_hash = ?`);
	const extendSession: Store['extendSession'] = async (tokenHash, expiresAt) => void sessionExpiry.run(expiresAt, tokenHash);

	const sessionDelete = db.prepare<[Buffer]>(`DELETE FROM sessions WHERE token_hash = ?`);
	const deleteSession: Store['deleteSession'] = async (tokenHash) => void sessionDelete.run(tokenHash);

	return { upsertUser, findUserBySub, insertSession, findSession, extendSession, deleteSession };
}
