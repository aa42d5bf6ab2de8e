import { defineConfig } from 'vite';

/** The operator's command (`npm run doorcode -- <command>`) as one Node module in dist/operator/ (apart from build/, which each SvelteKit build empties). */
export default defineConfig({
	build: {
		ssr: 'src/lib/server/ops/operator-cli.ts',
		outDir: 'dist/operator',
		emptyOutDir: true,
		target: 'node22',
		rollupOptions: { output: { entryFileNames: 'doorcode.js' } }
	}
});
