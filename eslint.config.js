// ESLint: the recommended rules for JavaScript, TypeScript and Svelte, plus the type-aware
// no-floating-promises and no-misused-promises: every store method is async, and a forgotten
// await on a store write, or a promise used as a boolean, is a real bug. And the layers of
// src/lib/server (docs/architecture.md): each folder imports only the folders below it at run
// time, so the arrows point one way; types may be named across them.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';

/** Each folder of src/lib/server, bottom up, and the folders it may import at run time besides itself. */
const LAYERS = {
	'dev-idp': [],
	core: [],
	store: ['core'],
	oauth: ['core', 'store'],
	browser: ['core', 'store', 'oauth'],
	ops: ['core', 'store', 'oauth']
};
const layerRules = Object.entries(LAYERS).map(([layer, below]) => ({
	files: [`src/lib/server/${layer}/**/*.ts`],
	ignores: ['**/*.test.ts'],
	rules: {
		'@typescript-eslint/no-restricted-imports': [
			'error',
			{
				patterns: Object.keys(LAYERS)
					.filter((other) => other !== layer && !below.includes(other))
					.map((other) => ({
						group: [`**/${other}/**`, `**/${other}`],
						allowTypeImports: true,
						message: `src/lib/server/${layer} may not import ${other} at run time: ${layer} sits below it (eslint.config.js, docs/architecture.md).`
					}))
			}
		]
	}
}));

export default defineConfig(
	{ ignores: ['build/', 'dist/', '.svelte-kit/', 'node_modules/', 'test-results/', 'playwright-report/', 'data/', '.e2e/'] },
	js.configs.recommended,
	ts.configs.recommended,
	svelte.configs.recommended,
	{ languageOptions: { globals: { ...globals.browser, ...globals.node } } },
	{
		files: ['**/*.ts', '**/*.svelte'],
		ignores: ['eslint.config.js'],
		languageOptions: {
			parserOptions: { projectService: true, extraFileExtensions: ['.svelte'], parser: ts.parser, tsconfigRootDir: import.meta.dirname }
		},
		rules: {
			'@typescript-eslint/no-floating-promises': 'error',
			'@typescript-eslint/no-misused-promises': 'error',
			// doorcode is served at the root (no paths.base), so plain hrefs are the resolved ones.
			'svelte/no-navigation-without-resolve': 'off'
		}
	},
	...layerRules
);
