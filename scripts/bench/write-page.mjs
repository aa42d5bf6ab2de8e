// `npm run bench -- --write`: the benchmark's tables go into docs/performance.md, between
// two markers, replacing what a previous --write put there; the rest of the page is written
// by hand and left as it is. The page is then formatted with the project's Prettier settings,
// so `prettier --check` passes on it as on every other Markdown file.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './lib.mjs';

export const PERFORMANCE_PAGE = join(root, 'docs', 'performance.md');
export const BEGIN = '<!-- npm run bench -- --write: from here -->';
export const END = '<!-- npm run bench -- --write: to here -->';

/**
 * Replaces the generated part of `page` (default docs/performance.md) with `table`, saying
 * which command produced it. Throws when the markers are missing, so nothing is lost.
 * @param {string} table
 * @param {string} commandLine
 * @param {string} [page]
 */
export async function writeResults(table, commandLine, page = PERFORMANCE_PAGE) {
	const text = readFileSync(page, 'utf8');
	const start = text.indexOf(BEGIN);
	const end = text.indexOf(END);
	if (start < 0 || end < start) throw new Error(`${page} lacks the markers ${BEGIN} and ${END}: put them where the tables go`);
	const generated = `${BEGIN}\n\nProduced by \`${commandLine}\` (scripts/bench.mjs).\n\n${table}\n\n${END}`;
	const updated = text.slice(0, start) + generated + text.slice(end + END.length);
	const prettier = await import('prettier');
	const options = (await prettier.resolveConfig(page)) ?? {};
	writeFileSync(page, await prettier.format(updated, { ...options, filepath: page }));
}
