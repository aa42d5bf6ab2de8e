import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The docs tell the truth about the tree: what they name exists, and the architecture page lists src/lib/server as it is. */

const ROOT = join(import.meta.dirname, '..');
const PAGES = [
	'README.md',
	...readdirSync(join(ROOT, 'docs'))
		.filter((name) => name.endsWith('.md'))
		.map((name) => `docs/${name}`)
];

/** Every `path` in backticks that names a file or folder of the repository. */
function pathsNamedIn(text: string): string[] {
	return [...text.matchAll(/`((?:src|tests|scripts|cli|docs)\/[^`\s]*)`/g)].map((match) => match[1].replace(/[:#].*$/, ''));
}

/** The non-test TypeScript modules of each folder under src/lib/server, as `folder/: file …`. */
function serverTree(folder = 'src/lib/server', listing: Record<string, string[]> = {}): Record<string, string[]> {
	const entries = readdirSync(join(ROOT, folder)).sort();
	const modules = entries.filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));
	if (modules.length) listing[`${folder.slice('src/lib/server/'.length)}/`] = modules;
	for (const name of entries) if (statSync(join(ROOT, folder, name)).isDirectory() && name !== 'migrations') serverTree(`${folder}/${name}`, listing);
	return listing;
}

describe('the docs', () => {
	it.each(PAGES)('every repository path %s names exists', (page) => {
		const missing = pathsNamedIn(readFileSync(join(ROOT, page), 'utf8')).filter((path) => !existsSync(join(ROOT, path.replace(/\/?\*.*$/, ''))));
		expect(missing).toEqual([]);
	});

	it('docs/architecture.md lists every module of src/lib/server, folder by folder, as the tree has them', () => {
		const page = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
		const block = /## The folders[\s\S]*?```\n([\s\S]*?)```/.exec(page)?.[1] ?? '';
		const listed: Record<string, string[]> = {};
		let folder = '';
		for (const line of block.split('\n')) {
			const match = /^([a-z-]+(?:\/[a-z-]+)*\/)?\s*(.*)$/.exec(line.trim());
			if (!match || !line.trim()) continue;
			if (match[1]) folder = match[1];
			const files = (match[2].split('—')[0] ?? '').split(/\s+/).filter((word) => word.endsWith('.ts'));
			if (files.length) listed[folder] = [...(listed[folder] ?? []), ...files].sort();
		}
		expect(listed).toEqual(serverTree());
	});
});
