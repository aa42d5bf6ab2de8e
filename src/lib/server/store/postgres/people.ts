import type { Session, Store, User } from '../store';
import type { Connection } from './connection';
import { groupsJson } from '../columns';

type People = Pick<Store, 'upsertUser' | 'findUserBySub' | 'insertSession' | 'findSession' | 'extendSession' | 'deleteSession'>;

/** People and their browser sessions. */
export function people({ query, one }: Connection): People {
	return {
		upsertUser: async (user, now) =>
			(await one<User>(
				'upsertUser',
				`INSERT INTO users (sub, provider, name, email, groups, created_at, updated_at) VALUES ($1, $2, $3, $4, coalesce($6, '[]'), $5, $5)
			 ON CONFLICT (sub) DO UPDATE SET name = coalesce(excluded.name, users.name), email = coalesce(excluded.email, users.email),
				groups = coalesce($6, users.groups), updated_at = excluded.updated_at
			 RETURNING id, sub, provider, name, email, groups::json AS groups`,
				[user.sub, user.provider, user.name, user.email, now, groupsJson(user.groups)]
			)) as User,
		findUserBySub: (sub) => one<User>('findUserBySub', `SELECT id, sub, provider, name, email, groups::json AS groups FROM users WHERE sub = $1`, [sub]),
		insertSession: async (tokenHash, userId, now, expiresAt) => {
			await query('insertSession', `INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`, [
				tokenHash,
				userId,
				now,
				expiresAt
			]);
		},
		findSession: (tokenHash) =>
			one<Session>(
				'findSession',
				`SELECT s.user_id AS "userId", s.expires_at AS "expiresAt", u.sub, u.provider, u.name, u.email, u.groups::json AS groups FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`,
				[tokenHash]
			),
		extendSession: async (tokenHash, expiresAt) => {
			await query('extendSession', `UPDATE sessions SET expires_at = $2 WHERE token_hash = $1`, [tokenHash, expiresAt]);
		},
		deleteSession: async (tokenHash) => {
			await query('deleteSession', `DELETE FROM sessions WHERE token_hash = $1`, [tokenHash]);
		}
	};
}
