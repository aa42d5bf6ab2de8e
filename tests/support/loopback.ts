import { createServer } from 'node:http';

/**
 * A CLI's loopback redirect (RFC 8252 §7.3), as a test stands it up: listens on 127.0.0.1 on a
 * free port and keeps the URL of the first answer at /callback, which the browser reaches after
 * Approve or Deny.
 */
export async function loopbackRedirect() {
	let settle: (url: URL) => void = () => {};
	const answered = new Promise<URL>((resolve) => (settle = resolve));
	const server = createServer((req, res) => {
		const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
		res.writeHead(url.pathname === '/callback' ? 200 : 404, { 'content-type': 'text/plain' }).end('done\n');
		if (url.pathname === '/callback') settle(url);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as { port: number };
	return {
		redirectUri: `http://127.0.0.1:${port}/callback`,
		/** The callback's full URL, once the browser got there. */
		answered,
		close: () => {
			server.close();
			server.closeAllConnections();
		}
	};
}
