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

	/**
	 * Follows redirects until one leaves for `origin` (the client's callback); returns that URL.
	 * A page that only posts a form of hidden fields onward (oidc-provider ending the previous
	 * account's session when another signs in) is posted, as its script would in a browser.
	 */
	async followUntil(origin: string, url: string, init: RequestInit = {}): Promise<URL> {
		let response = await this.request(url, init);
		let current = new URL(url);
		for (let hops = 0; hops < 10; hops++) {
			const body = response.status === 200 ? await response.text() : null;
			const onward = body === null ? null : hiddenFormOf(body, current);
			if (onward) {
				response = await this.request(onward.action, {
					method: 'POST',
					headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
					body: onward.fields.toString()
				});
				current = new URL(onward.action);
				continue;
			}
			const location = response.headers.get('location');
			if (response.status < 300 || response.status >= 400 || !location) {
				throw new Error(`expected a redirect from ${current}, got ${response.status}: ${body ?? (await response.text())}`);
			}
			const next = new URL(location, current);
			if (next.origin === origin) return next;
			current = next;
			response = await this.request(next.href);
		}
		throw new Error('too many redirects');
	}
}

/** A page's one POST form when all its fields are hidden; null for any other page. */
function hiddenFormOf(html: string, base: URL): { action: string; fields: URLSearchParams } | null {
	const form = /<form[^>]*\smethod="post"[^>]*\saction="([^"]+)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
	if (!form?.[1] || !form[2]) return null;
	const inputs = [...form[2].matchAll(/<input([^>]*)>/gi)].map((match) => match[1] ?? '');
	if (inputs.length === 0 || inputs.some((input) => !/\stype="hidden"/i.test(input))) return null;
	const fields = new URLSearchParams();
	for (const input of inputs) fields.append(/\sname="([^"]*)"/.exec(input)?.[1] ?? '', /\svalue="([^"]*)"/.exec(input)?.[1] ?? '');
	return { action: new URL(form[1], base).href, fields };
}
