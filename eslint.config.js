// ESLint: the recommended rules for JavaScript, TypeScript and Svelte, plus the type-aware
// no-floating-promises and no-misused-promises: every store method is async, and a forgotten
// await on a store write, or a promise used as a boolean, is a real bug.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';

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
	}
);
