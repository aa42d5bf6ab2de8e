import adapter from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

/** The store contract and the domain tests built on testServices(): run on PostgreSQL as well. */
const ENGINE_TESTS = [
	'store/store',
	'oauth/device-lifecycle',
	'oauth/token-lifecycle',
	'oauth/oidc',
	'oauth/authorization-code',
	'oauth/dpop',
	'oauth/client-registry',
	'browser/admin',
	'browser/confirmation',
	'browser/sign-in'
].map((name) => `src/lib/server/${name}.test.ts`);

export default defineConfig({
	plugins: [
		sveltekit({
			adapter: adapter(),
			// CLIs POST form-encoded bodies to /oauth/* with no Origin header, which
			// SvelteKit's own check would refuse. It is off here; src/hooks.server.ts
			// refuses cross-site form posts everywhere outside /oauth/* instead.
			csrf: { trustedOrigins: ['*'] },
			csp: {
				mode: 'auto',
				directives: {
					'default-src': ['self'],
					'script-src': ['self'],
					'style-src': ['self', 'unsafe-inline'],
					'img-src': ['self', 'data:'],
					'object-src': ['none'],
					'base-uri': ['none'],
					'frame-ancestors': ['none']
				}
			}
		})
	],
	test: {
		environment: 'node',
		// A real PostgreSQL server for the tests on that engine (started in a child process), shared by both projects.
		globalSetup: ['tests/support/vitest-postgres.ts'],
		testTimeout: 30_000,
		// One project per engine: inject('engine') tells store.test.ts and testServices() which one to open.
		projects: [
			{ extends: true, test: { name: 'sqlite', include: ['src/**/*.test.ts', 'cli/**/*.test.ts', 'tests/*.test.ts'], provide: { engine: 'sqlite' } } },
			{ extends: true, test: { name: 'postgres', include: ENGINE_TESTS, provide: { engine: 'postgres' } } }
		]
	}
});
