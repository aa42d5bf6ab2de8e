// doorcode's server: adapter-node's handler (build/handler.js), served at ORIGIN.
// adapter-node 6 no longer reads ORIGIN; without it SvelteKit would take the origin
// from the Host header and guess https. Every request is told the configured origin
// through two private headers (the client's own copies are dropped), so request URLs,
// redirects and cookies agree with ORIGIN. Run `npm run build` first; `npm start` does both.
import { createServer } from 'node:http';
import process from 'node:process';

const PROTOCOL_HEADER = 'x-doorcode-origin-protocol';
const HOST_HEADER = 'x-doorcode-origin-host';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '0.0.0.0';
if (!process.env.ORIGIN && process.env.NODE_ENV !== 'production') process.env.ORIGIN = `http://localhost:${port}`;
let origin;
try {
	origin = new URL(process.env.ORIGIN ?? '');
} catch {
	console.error(`doorcode: ORIGIN: must be the public base URL, e.g. https://login.example.org (got "${process.env.ORIGIN ?? ''}")`);
	process.exit(1);
}
// Form posts are small; anything larger is refused before it is parsed (OAuth bodies have their own 16 KiB limit).
process.env.BODY_SIZE_LIMIT ??= '64K';
process.env.PROTOCOL_HEADER = PROTOCOL_HEADER;
process.env.HOST_HEADER = HOST_HEADER;
const { handler } = await import('./build/handler.js');
// Registered by the app's init hook (src/lib/server/fast-path.ts): the two hot OAuth POSTs.
const serveFast = globalThis[Symbol.for('doorcode.fastPath')];

const server = createServer((req, res) => {
	if (serveFast?.(req, res)) return;
	req.headers[PROTOCOL_HEADER] = origin.protocol.slice(0, -1);
	req.headers[HOST_HEADER] = origin.host;
	handler(req, res, () => {
		res.statusCode = 404;
		res.end();
	});
});

server.listen(port, host, () => {
	console.log(`doorcode is listening on ${host}:${port}; open ${origin.origin}/device`);
});

function shutdown() {
	server.closeIdleConnections();
	server.close(() => process.exit(0));
	setTimeout(() => process.exit(0), 5000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
