/**
 * What the app hands server.js (plain JavaScript outside the build, which reads these same
 * Symbol.for names from globalThis): the fast path for the two hot OAuth POSTs, and what
 * to close when the process stops.
 */
export const FAST_PATH_KEY = Symbol.for('doorcode.fastPath');
export const CLOSE_KEY = Symbol.for('doorcode.close');

export function handToServer(key: typeof FAST_PATH_KEY | typeof CLOSE_KEY, value: unknown): void {
	(globalThis as Record<symbol, unknown>)[key] = value;
}
