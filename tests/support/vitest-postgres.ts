import type { TestProject } from 'vitest/node';
import { sharedPostgres } from './postgres.ts';

/** Vitest's global setup: one real PostgreSQL server for every module test that runs against it. */
export default async function setup(project: TestProject) {
	const server = await sharedPostgres();
	project.provide('postgresUrl', server.url);
	return () => server.stop();
}

declare module 'vitest' {
	export interface ProvidedContext {
		postgresUrl: string;
		/** The engine the project's engine tests open (vite.config.ts): store.test.ts and testServices(). */
		engine: 'sqlite' | 'postgres';
	}
}
