// doorcode's server: adapter-node's handler (build/handler.js), served at ORIGIN.
// adapter-node 6 no longer reads ORIGIN; without it SvelteKit would take the origin
// from the Host header and guess https. Every request is told the configured origin
// through two private headers (the client's own copies are dropped), so request URLs,
// redirects and cookies agree with ORIGIN. Run `npm run build` first; `npm start` does both.
import { createServer } from 'node:http';
import { isIP } from 'node:net';
import process from 'node:process';

const PROTOCOL_HEADER = 'x-doorcode-origin-protocol';
const HOST_HEADER = 'x-doorcode-origin-host';

/** A bad variable stops start-up with one line naming it, never a stack trace. */
function refuse(line) {
	console.error(`doorcode: ${line}`);
	process.exit(1);
}

const portText = process.env.PORT?.trim() || '3000';
if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) refuse(`PORT: must be a port number from 1 to 65535 (got "${portText}")`);
const port = Number(portText);
const graceText = process.env.SHUTDOWN_GRACE_SECONDS?.trim() || '10';
if (!/^\d{1,4}$/.test(graceText) || Number(graceText) > 3600)
	refuse(`SHUTDOWN_GRACE_SECONDS: must be a whole number of seconds from 0 to 3600 (got "${graceText}")`);
const host = process.env.HOST?.trim() || '0.0.0.0';
// A host name is looked up when listening; an address must be one.
if (/^[\d.]+$/.test(host) ? !isIP(host) : !/^[A-Za-z0-9.:-]+$/.test(host)) refuse(`HOST: must be an IP address or a host name to listen on (got "${host}")`);
if (!process.env.ORIGIN && process.env.NODE_ENV !== 'production') process.env.ORIGIN = `http://localhost:${port}`;
let origin;
try {
	origin = new URL(process.env.ORIGIN ?? '');
} catch {
	refuse(`ORIGIN: must be the public base URL, e.g. https://login.example.org (got "${process.env.ORIGIN ?? ''}")`);
}
// Form posts are small; anything larger is refused before it is parsed (OAuth bodies have their own 16 KiB limit).
process.env.BODY_SIZE_LIMIT ??= '64K';
process.env.PROTOCOL_HEADER = PROTOCOL_HEADER;
process.env.HOST_HEADER = HOST_HEADER;
const { handler } = await import('./build/handler.js');
// Handed over by the app's init hook under the names src/lib/server/core/server-hooks.ts defines:
// the two hot OAuth POSTs, and what to close when the process stops (the sweeper, the database).
const serveFast = globalThis[Symbol.for('doorcode.fastPath')];
const closeApp = globalThis[Symbol.for('doorcode.close')];

let stopping = false;
const server = createServer((req, res) => {
	// While stopping, every answer closes its connection, so keep-alive clients reconnect to another instance.
	if (stopping) res.shouldKeepAlive = false;
	if (serveFast?.(req, res)) return;
	req.headers[PROTOCOL_HEADER] = origin.protocol.slice(0, -1);
	req.headers[HOST_HEADER] = origin.host;
	handler(req, res, () => {
		res.statusCode = 404;
		res.end();
	});
});

// A request Node cannot parse as HTTP gets an RFC 6749 body like every other error, then the connection closes.
server.on('clientError', (error, socket) => {
	if (!socket.writable) return socket.destroy();
	const [status, text] = error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
	const body = JSON.stringify({ error: 'invalid_request', error_description: 'The request is not valid HTTP.' });
	socket.end(
		`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
	);
});

server.on('error', (error) => {
	const reasons = {
		EADDRINUSE: `PORT: ${port} is already in use on ${host}; stop what listens there or choose another PORT`,
		EACCES: `PORT: listening on ${port} needs privileges this process lacks; choose a PORT above 1023`,
		EADDRNOTAVAIL: `HOST: ${host} is not an address of this machine`,
		ENOTFOUND: `HOST: ${host} is not a known host name`
	};
	refuse(reasons[error.code] ?? `cannot listen on ${host}:${port} (${error.code ?? error.message})`);
});

server.listen(port, host, () => {
	console.log(`doorcode is listening on ${host}:${port}; open ${origin.origin}/device`);
});

/** Seconds a stop waits for requests in flight before it closes their connections anyway. */
const SHUTDOWN_GRACE_MS = 1000 * Number(graceText);

/**
 * SIGTERM (Kubernetes, systemd) or SIGINT: stop accepting connections, let requests in flight
 * finish (polls are answered, approvals commit), then close the database and exit 0. Past the
 * grace period, connections still open are closed and the process exits all the same.
 */
function shutdown(signal) {
	if (stopping) return;
	stopping = true;
	console.log(JSON.stringify({ level: 'info', msg: 'doorcode stopping', signal }));
	const finish = async () => {
		await closeApp?.().catch(() => {});
		process.exit(0);
	};
	server.close(() => void finish());
	server.closeIdleConnections();
	// Idle keep-alive connections appear as in-flight answers end: close them as they do.
	const idle = setInterval(() => server.closeIdleConnections(), 100);
	idle.unref();
	setTimeout(() => {
		server.closeAllConnections();
		void finish();
	}, SHUTDOWN_GRACE_MS).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
