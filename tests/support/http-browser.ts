/**
 * A browser without a screen, for module tests that walk a provider's pages with fetch:
 * one cookie jar (name → value; the test servers all live on 127.0.0.1, and cookies
 * ignore ports), redirects followed by hand.
 */
export class HttpBrowser {
	readonly cookies = new Map<string, string>();

	async request(url: string, init: RequestInit = {}): Promise<Response> {
		const headers = new Headers(init.headers);
		if (this.cookies.size) headers.set('Cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
		const response = await fetch(url, { ...init, headers, redirect: 'manual' });
		for (const line of response.headers.getSetCookie()) {
			const [pair = '', ...attributes] = line.split(';');
			const eq = pair.indexOf('=');
			const name = pair.slice(0, eq).trim();
			const value = pair.slice(eq + 1).trim();
			const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
			if (expired) this.cookies.delete(name);
			else this.cookies.set(name, value);
		}
		return response;
	}

	/** Follows redirects until one leaves for `origin` (the client's callback); returns that URL. */
	async followUntil(origin: string, url: string, init: RequestInit = {}): Promise<URL> {
		let response = await this.request(url, init);
		let current = new URL(url);
		for (let hops = 0; hops < 10; hops++) {
			const location = response.headers.get('location');
			if (response.status < 300 || response.status >= 400 || !location) {
				throw new Error(`expected a redirect from ${current}, got ${response.status}: ${await response.text()}`);
			}
			const next = new URL(location, current);
			if (next.origin === origin) return next;
			current = next;
			response = await this.request(next.href);
		}
		throw new Error('too many redirects');
	}
}
