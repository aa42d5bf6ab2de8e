import adapter from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

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
		include: ['src/**/*.test.ts', 'cli/**/*.test.ts'],
		environment: 'node',
		// A real PostgreSQL server for the store contract on that engine (started in a child process).
		globalSetup: ['tests/support/vitest-postgres.ts'],
		testTimeout: 30_000
	}
});
