import fc from 'fast-check';

/**
 * Hostile HTTP requests for property-based tests (fast-check): wrong types, missing and
 * repeated fields, empty and huge bodies, broken percent-encodings, invalid UTF-8, control
 * characters and NUL, SQL and HTML fragments, random content types. Everything here goes
 * to 127.0.0.1 only, one request at a time, with a time limit.
 */

export interface HostileRequest {
	method: string;
	/** Appended to the path: "" or "?…" (for form actions, "&…" after the action). */
	query: string;
	contentType: string | null;
	body: Uint8Array | null;
	/** Sent without Content-Length (Transfer-Encoding: chunked), in a few pieces. */
	chunked: boolean;
	headers: Record<string, string>;
}

export interface Answer {
	status: number;
	headers: Headers;
	text: string;
}

const encoder = new TextEncoder();
export const utf8 = (text: string) => encoder.encode(text);

/** A marker no page of doorcode contains on its own: if it comes back raw in HTML, input was reflected unescaped. */
export const SCRIPT_MARKERS = ['<script>doorcodeFuzz', '<img src=x onerror=doorcodeFuzz', '<svg onload=doorcodeFuzz'];

export const SQL_FRAGMENTS = [
	"' OR 1=1 --",
	'"; DROP TABLE users; --',
	"'; DELETE FROM grants; --",
	"' UNION SELECT token_hash, grant_id FROM tokens --",
	"%' OR '1'='1",
	"admin'--",
	'1; UPDATE grants SET revoked_at = NULL',
	"') OR ('x'='x"
];

export const HTML_FRAGMENTS = [
	'<script>doorcodeFuzz()</script>',
	'"><img src=x onerror=doorcodeFuzz()>',
	"'></textarea><svg onload=doorcodeFuzz()>",
	'javascript:doorcodeFuzz()',
	'<!--',
	'{{constructor.constructor("doorcodeFuzz()")()}}',
	'${doorcodeFuzz()}'
];

export const CONTROL_STRINGS = [
	'\u0000',
	'a\u0000b',
	'\u0000'.repeat(64),
	'\r\n',
	'\r\nSet-Cookie: x=1',
	'\u001b[31m',
	'\u202e',
	'\ufeff',
	'\u2028\u2029',
	'\ud800',
	'\udfff\ud800',
	'\t\v\f\b'
];

export const BROKEN_PERCENT = ['%', '%Z', '%ZZ', '%00', '%E0%A4%A', '%C3%28', '%ff%fe', '%%%', '%u0041', '+%2B+', '%ED%A0%80', '%F4%90%80%80', '%C0%AF'];

const PROTOCOL_VALUES = [
	'urn:ietf:params:oauth:grant-type:device_code',
	'refresh_token',
	'authorization_code',
	'client_credentials',
	'password',
	'demo-cli',
	'acme-api',
	'personal-access-token',
	'nobody',
	'read',
	'write',
	'read write',
	'read write admin',
	'openid',
	'access_token',
	'refresh_token',
	'BCDF-GHJK',
	'bcdfghjk',
	'AEIOU123',
	`dca_${'A'.repeat(43)}`,
	`dcr_${'B'.repeat(43)}`,
	`dcp_${'C'.repeat(43)}`,
	'A'.repeat(43),
	'orcid:0000-0002-1825-0097',
	'email:tech@lab.example',
	'1',
	'2',
	'3',
	'0',
	'-1',
	'7',
	'30',
	'365',
	'1e309',
	'NaN',
	'Infinity',
	'0x10',
	'9007199254740993',
	'true',
	'null',
	'undefined',
	'[]',
	'{}',
	'__proto__',
	'constructor',
	'',
	' ',
	'A'.repeat(5000)
];

/** Parameter names doorcode reads somewhere, and names it must not trip over. */
export const FIELD_NAMES = [
	'client_id',
	'client_secret',
	'grant_type',
	'device_code',
	'refresh_token',
	'scope',
	'token',
	'token_type_hint',
	'code',
	'user_code',
	'name',
	'days',
	'grant',
	'owner',
	'label',
	'__proto__',
	'constructor',
	'prototype',
	'',
	'client_id[]',
	'scope[0]'
];

/** A hostile string: random text (any code unit, lone surrogates included), or a known-nasty fragment, or a mix. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
	{ arbitrary: fc.string({ maxLength: 40 }), weight: 3 },
	{ arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
	{ arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 1 },
	{ arbitrary: fc.constantFrom(...SQL_FRAGMENTS), weight: 2 },
	{ arbitrary: fc.constantFrom(...HTML_FRAGMENTS), weight: 2 },
	{ arbitrary: fc.constantFrom(...CONTROL_STRINGS), weight: 2 },
	{ arbitrary: fc.constantFrom(...PROTOCOL_VALUES), weight: 4 },
	{
		arbitrary: fc
			.array(fc.oneof(fc.constantFrom(...SQL_FRAGMENTS, ...HTML_FRAGMENTS, ...CONTROL_STRINGS, ...PROTOCOL_VALUES), fc.string({ maxLength: 8 })), {
				minLength: 2,
				maxLength: 5
			})
			.map((parts) => parts.join('')),
		weight: 2
	}
);

/** Raw text for a urlencoded body, where percent signs are not escaped: broken encodings on purpose. */
const rawFormText: fc.Arbitrary<string> = fc.oneof(
	hostileString,
	fc.constantFrom(...BROKEN_PERCENT),
	fc.array(fc.oneof(fc.constantFrom(...BROKEN_PERCENT), fc.string({ maxLength: 6 })), { maxLength: 5 }).map((parts) => parts.join(''))
);

export const fieldName: fc.Arbitrary<string> = fc.oneof({ arbitrary: fc.constantFrom(...FIELD_NAMES), weight: 4 }, { arbitrary: hostileString, weight: 1 });

/** Name/value pairs; names repeat, go missing and come in any order. */
const pairs = <V>(names: fc.Arbitrary<string>, values: fc.Arbitrary<V>) => fc.array(fc.tuple(names, values), { maxLength: 8 });

/** A JSON value of any shape: nested objects and arrays, numbers, null, booleans, strings. */
const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
	{ arbitrary: hostileString, weight: 4 },
	{ arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 3 },
	{ arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.constant(null), fc.boolean(), fc.constant(-0), fc.constant(1e308)), weight: 2 },
	{ arbitrary: fc.array(hostileString, { maxLength: 3 }), weight: 1 },
	{ arbitrary: fc.dictionary(fieldName, hostileString, { maxKeys: 3 }), weight: 1 }
);

/** A piece repeated up to the given size: huge bodies without generating 100 KB of randomness. */
function repeatTo(piece: string, size: number): string {
	const unit = piece.length > 0 ? piece : 'A';
	return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

export interface Body {
	kind: string;
	contentType: string | null;
	bytes: Uint8Array | null;
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

/** Content types to send a body under, matching or not. */
export const contentTypes: fc.Arbitrary<string | null> = fc.oneof(
	fc.constantFrom<string | null>(
		FORM,
		JSON_TYPE,
		`${FORM}; charset=utf-8`,
		`${JSON_TYPE}; charset=latin1`,
		'APPLICATION/JSON',
		'application/json-patch+json',
		'text/plain',
		'text/plain;charset=UTF-8',
		'text/html',
		'application/xml',
		'application/octet-stream',
		'multipart/form-data; boundary=doorcodefuzz',
		'multipart/form-data',
		'multipart/mixed; boundary=x',
		'',
		';',
		'application/x-www-form-urlencoded, application/json',
		null
	),
	fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((type) => type.replace(/[\r\n\0]/g, ''))
);

export interface BodyOptions {
	/** The content type most bodies are sent under: the form parser's own, or whatever matches the body. */
	preferForm?: boolean;
	/** Largest body to generate (bytes, before encoding). */
	maxSize: number;
	/** Include well-formed multipart/form-data bodies. */
	multipart: boolean;
	/** Include bodies a form parser cannot read: text/plain and malformed multipart. */
	unreadableForms: boolean;
}

/** Any request body: form (proper or broken), JSON (any shape, broken, duplicated keys), bytes, multipart, empty, huge. */
export function hostileBody({ maxSize, multipart, unreadableForms, preferForm = false }: BodyOptions): fc.Arbitrary<Body> {
	const form = pairs(fieldName, hostileString).map((list) => ({
		kind: 'form',
		text: list.map(([name, value]) => `${encodeURIComponent(toWellFormed(name))}=${encodeURIComponent(toWellFormed(value))}`).join('&')
	}));
	const brokenForm = pairs(rawFormText, rawFormText).map((list) => ({ kind: 'form-raw', text: list.map(([name, value]) => `${name}=${value}`).join('&') }));
	const jsonObject = pairs(fieldName, jsonValue).map((list) => ({ kind: 'json', text: JSON.stringify(Object.fromEntries(list)) }));
	const jsonAny = jsonValue.map((value) => ({ kind: 'json-any', text: JSON.stringify(value) ?? 'undefined' }));
	const jsonRaw = fc
		.constantFrom(
			'{"client_id": "demo-cli"',
			'{"client_id":"demo-cli","client_id":"acme-api"}',
			'{"__proto__": {"client_id": "demo-cli"}}',
			'{"constructor": {"prototype": {"x": 1}}}',
			'[',
			'\u0000{}',
			'{"client_id":"demo-cli"} trailing',
			'{"a":1e999}',
			'{"a":-0}',
			'{"a":"\\ud800"}',
			'{"a":"\\u0000"}',
			'null',
			'"string"',
			'12345',
			'{'.repeat(500) + '}'.repeat(500),
			'['.repeat(2000)
		)
		.map((text) => ({ kind: 'json-raw', text }));
	// The parameters doorcode reads, each missing, well-formed or hostile: gets past the first checks to the deeper ones.
	const optionalValue = (...good: string[]) =>
		fc.option(fc.oneof({ arbitrary: fc.constantFrom(...good), weight: 2 }, { arbitrary: hostileString, weight: 1 }), { freq: 3 });
	const structured = fc
		.record({
			grant_type: optionalValue('urn:ietf:params:oauth:grant-type:device_code', 'refresh_token', 'authorization_code'),
			client_id: optionalValue('demo-cli', 'acme-api', 'narrow-cli', 'nobody'),
			client_secret: optionalValue('acme-secret', 'wrong'),
			device_code: optionalValue('A'.repeat(43), 'short'),
			refresh_token: optionalValue(`dcr_${'B'.repeat(43)}`),
			token: optionalValue(`dca_${'A'.repeat(43)}`, `dcr_${'B'.repeat(43)}`, `dcp_${'C'.repeat(43)}`),
			token_type_hint: optionalValue('access_token', 'refresh_token'),
			scope: optionalValue('read', 'read write', 'write', 'admin', ''),
			code: optionalValue('BCDF-GHJK', 'bcdfghjk'),
			name: optionalValue('CI deploy'),
			days: optionalValue('7', '30', '90', '365', '0'),
			grant: optionalValue('1', '2', '3')
		})
		.chain((fields) => {
			const list = Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== null);
			return fc.constantFrom(
				{ kind: 'form-structured', text: new URLSearchParams(list.map(([n, v]) => [n, toWellFormed(v)])).toString() },
				{ kind: 'json-structured', text: JSON.stringify(Object.fromEntries(list)) }
			);
		});
	const textual = fc.oneof(
		{ arbitrary: structured, weight: 3 },
		{ arbitrary: form, weight: 1 },
		{ arbitrary: brokenForm, weight: 1 },
		{ arbitrary: jsonObject, weight: 1 },
		{ arbitrary: jsonAny, weight: 1 },
		{ arbitrary: jsonRaw, weight: 1 }
	);
	const withType = fc
		.tuple(textual, fc.oneof({ arbitrary: fc.constant('matching' as const), weight: 5 }, { arbitrary: contentTypes, weight: 1 }))
		.map(([{ kind, text }, type]) => ({
			kind,
			contentType: type === 'matching' ? (preferForm || kind.startsWith('form') ? FORM : JSON_TYPE) : type,
			bytes: utf8(text)
		}));
	const invalidUtf8 = fc
		.tuple(
			fc.constantFrom('', 'client_id=', 'code=', '{"client_id":"', 'token='),
			fc.oneof(
				fc.uint8Array({ minLength: 1, maxLength: 64 }),
				fc
					.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0xe0, 0x80], [0xfe, 0xff], [0x00])
					.map((b) => new Uint8Array(b))
			),
			contentTypes
		)
		.map(([prefix, tail, contentType]) => ({ kind: 'bytes', contentType, bytes: concat(utf8(prefix), tail) }));
	const empty = contentTypes.map((contentType) => ({ kind: 'empty', contentType, bytes: null as Uint8Array | null }));
	const emptyBytes = contentTypes.map((contentType) => ({ kind: 'empty-bytes', contentType, bytes: new Uint8Array() }));
	const huge = fc
		.tuple(
			fc.oneof(hostileString, fc.constantFrom('client_id=demo-cli&', 'a', '%', '\u0000', '{"a":"')),
			fc.integer({ min: 1000, max: maxSize }),
			fc.oneof({ arbitrary: fc.constantFrom(FORM, JSON_TYPE), weight: 2 }, { arbitrary: contentTypes, weight: 1 })
		)
		.map(([piece, size, contentType]) => ({ kind: 'huge', contentType, bytes: utf8(repeatTo(piece, size)).slice(0, size) }));
	const choices: fc.WeightedArbitrary<Body>[] = [
		{ arbitrary: withType, weight: 14 },
		{ arbitrary: invalidUtf8, weight: 2 },
		{ arbitrary: empty, weight: 1 },
		{ arbitrary: emptyBytes, weight: 1 },
		{ arbitrary: huge, weight: 2 }
	];
	if (multipart) choices.push({ arbitrary: wellFormedMultipart, weight: 1 });
	if (unreadableForms) choices.push({ arbitrary: unreadableFormBody, weight: 1 });
	return fc.oneof(...choices).map((body) => {
		if (body.contentType === null) return body;
		const contentType = headerSafe(body.contentType);
		// Without unreadableForms, the form parser's own types only ever carry a body it can read.
		if (!unreadableForms && body.kind !== 'multipart' && /text\/plain|multipart\//i.test(contentType)) return { ...body, contentType: FORM };
		return { ...body, contentType };
	});
}

/** multipart/form-data as a browser sends it, with hostile field names and values. */
export const wellFormedMultipart: fc.Arbitrary<Body> = pairs(fieldName, hostileString).map((list) => {
	const boundary = '----doorcodefuzz7MA4YWxkTrZu0gW';
	const parts = list.map(
		([name, value]) =>
			`--${boundary}\r\nContent-Disposition: form-data; name="${toWellFormed(name).replace(/["\r\n]/g, '_')}"\r\n\r\n${toWellFormed(value)}\r\n`
	);
	return { kind: 'multipart', contentType: `multipart/form-data; boundary=${boundary}`, bytes: utf8(`${parts.join('')}--${boundary}--\r\n`) };
});

/** Bodies no form parser can read: text/plain (a form with enctype="text/plain"), and broken multipart. */
export const unreadableFormBody: fc.Arbitrary<Body> = fc.oneof(
	fc.tuple(fc.constantFrom('text/plain', 'text/plain;charset=UTF-8'), pairs(fieldName, hostileString)).map(([contentType, list]) => ({
		kind: 'text-plain-form',
		contentType,
		bytes: utf8(list.map(([name, value]) => `${toWellFormed(name)}=${toWellFormed(value)}`).join('\r\n'))
	})),
	fc
		.tuple(
			fc.constantFrom(
				'multipart/form-data',
				'multipart/form-data; boundary=doorcodefuzz',
				'multipart/form-data; boundary=',
				'multipart/form-data; boundary="unterminated'
			),
			fc.oneof(
				hostileString,
				fc.constantFrom(
					'--doorcodefuzz\r\ngarbage',
					'--doorcodefuzz\r\nContent-Disposition: form-data; name="code"\r\n\r\nBCDF',
					'--doorcodefuzz--',
					'--\r\n\r\n'
				)
			)
		)
		.map(([contentType, text]) => ({ kind: 'multipart-garbage', contentType, bytes: utf8(text) }))
);

/** Header values fetch accepts: no control characters but tab, nothing above U+00FF, no surrounding whitespace. */
export function headerSafe(value: string): string {
	/* eslint-disable no-control-regex -- control characters are what this removes */
	return value
		.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '')
		.replace(/[^\u0000-\u00ff]/g, '?')
		.trim();
	/* eslint-enable no-control-regex */
}

/** A random header value (fetch refuses control characters and characters above U+00FF, so those are dropped or replaced). */
export const headerValue: fc.Arbitrary<string> = fc
	.oneof(
		fc.string({ unit: 'binary', maxLength: 60 }),
		hostileString,
		fc.constantFrom(
			'Bearer',
			'Bearer ',
			'Bearer  x',
			'bearer dca_x',
			'Basic',
			'Basic !!!',
			'Basic Og==',
			'Basic YWNtZS1hcGk6',
			'Basic ' + 'A'.repeat(6000),
			'Digest x',
			'Bearer a b c',
			'Bearer,Bearer',
			'DPoP',
			'DPoP dca_x',
			'a.b.c',
			'eyJhbGciOiJub25lIn0.e30.',
			'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7fX0.e30.AAAA'
		)
	)
	.map(headerSafe);

/** Authorization headers for the OAuth routes: none, garbage, Bearer/Basic with hostile payloads, or the real confidential client. */
export const authorizationHeader: fc.Arbitrary<string | null> = fc.oneof(
	{ arbitrary: fc.constant(null), weight: 3 },
	{ arbitrary: headerValue, weight: 3 },
	{ arbitrary: hostileString.map((s) => headerSafe(`Bearer ${s}`)), weight: 3 },
	{
		arbitrary: fc.tuple(hostileString, hostileString).map(([user, password]) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`),
		weight: 2
	},
	{ arbitrary: hostileString.map((s) => `Basic ${Buffer.from(s).toString('base64')}`), weight: 1 },
	{ arbitrary: fc.constant(`Basic ${Buffer.from('acme-api:acme-secret').toString('base64')}`), weight: 2 }
);

/** Query strings, with broken encodings. */
export const hostileQuery: fc.Arbitrary<string> = fc.oneof(
	{ arbitrary: fc.constant(''), weight: 4 },
	{
		arbitrary: pairs(fieldName, rawFormText).map((list) =>
			list.map(([n, v]) => `${encodeURI(toWellFormed(n))}=${toWellFormed(v).replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(toWellFormed(c)))}`).join('&')
		),
		weight: 2
	},
	{ arbitrary: fc.constantFrom(...BROKEN_PERCENT).map((s) => `x=${s}`), weight: 1 }
);

export const POST_ONLY_METHOD: fc.Arbitrary<string> = fc.oneof(
	{ arbitrary: fc.constant('POST'), weight: 12 },
	{ arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'), weight: 1 }
);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
	const joined = new Uint8Array(a.length + b.length);
	joined.set(a);
	joined.set(b, a.length);
	return joined;
}

/** encodeURIComponent throws on lone surrogates; the raw generators send those as bytes instead. */
export function toWellFormed(text: string): string {
	return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** Sends one request to the loopback server and reads the whole answer, within 15 s. */
export async function send(origin: string, path: string, request: HostileRequest): Promise<Answer> {
	const url = `${origin}${path}${request.query ? (path.includes('?') ? `&${request.query.replace(/^\?/, '')}` : `?${request.query.replace(/^\?/, '')}`) : ''}`;
	if (!url.startsWith('http://localhost:') && !url.startsWith('http://127.0.0.1:')) throw new Error(`not a loopback URL: ${url}`);
	const headers = new Headers();
	for (const [name, value] of Object.entries(request.headers)) headers.set(name, value);
	if (request.contentType !== null) headers.set('Content-Type', request.contentType);
	const hasBody = request.body !== null && !['GET', 'HEAD'].includes(request.method);
	let body: BodyInit | undefined;
	if (hasBody && request.body) {
		const bytes = new Uint8Array(request.body);
		body = request.chunked
			? new ReadableStream<Uint8Array<ArrayBuffer>>({
					start(controller) {
						const step = Math.max(1, Math.ceil(bytes.length / 4));
						for (let i = 0; i < bytes.length; i += step) controller.enqueue(bytes.slice(i, i + step));
						controller.close();
					}
				})
			: bytes;
	}
	const response = await fetch(url, {
		method: request.method,
		headers,
		body,
		redirect: 'manual',
		signal: AbortSignal.timeout(15_000),
		...(request.chunked && hasBody ? { duplex: 'half' } : {})
	} as RequestInit);
	return { status: response.status, headers: response.headers, text: await response.text() };
}

/** What a stack trace or an internal path looks like in a response body. */
const STACK_PATTERNS = [
	/\bat (?:async )?[\w$.<>[\] ]*\(?(?:file:\/\/)?\/[^\s)]+:\d+:\d+/,
	/\n\s+at (?:async )?(?:[\w$.<>[\]]+ \()?(?:file:\/\/|node:|\/)/,
	/node_modules/,
	/\b\w*Error: [^"\n]*(?:\/[\w.-]+)+\.(?:js|ts|mjs|cjs)\b/,
	/(?:\/work\/|\/home\/|\/usr\/lib\/node|\/build\/server\/)/,
	/SqliteError|SQLITE_[A-Z]+/
];

/** Which stack-trace pattern a response body shows, unless the request itself carried that text. */
export function stackTraceIn(text: string, sent: Uint8Array | null): string | null {
	const echoed = sent ? Buffer.from(sent).toString('latin1') : '';
	for (const pattern of STACK_PATTERNS) if (pattern.test(text) && !pattern.test(echoed)) return pattern.source;
	return null;
}

/** A short, printable description of a request, for failure messages (the counterexample). */
export function describe(route: string, request: HostileRequest): string {
	const bytes = request.body ?? new Uint8Array();
	const preview = JSON.stringify(Buffer.from(bytes.slice(0, 240)).toString('latin1'));
	return `${request.method} ${route}${request.query ? ` query=${JSON.stringify(request.query.slice(0, 120))}` : ''} content-type=${JSON.stringify(request.contentType)} ${request.chunked ? 'chunked ' : ''}body(${bytes.length} bytes)=${preview}${bytes.length > 240 ? '…' : ''} headers=${JSON.stringify(
		Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, v.length > 120 ? `${v.slice(0, 120)}…` : v]))
	)}`;
}

export interface PropertyRun<T> {
	name: string;
	arbitrary: fc.Arbitrary<T>;
	check: (value: T) => Promise<void>;
	numRuns: number;
	seed: number;
	/** The whole property, shrinking included, stops after this long. */
	timeLimitMs: number;
	describeValue: (value: T) => string;
}

/**
 * Runs a property with a fixed seed. On failure the error names the seed, the path to
 * replay it (`fc.assert(…, { seed, path })`), the smallest failing input found within
 * the time limit, and what went wrong.
 */
export async function runProperty<T>({ name, arbitrary, check, numRuns, seed, timeLimitMs, describeValue }: PropertyRun<T>): Promise<{ runs: number }> {
	const details = await fc.check(
		fc.asyncProperty(arbitrary, async (value) => {
			await check(value);
		}),
		{ numRuns, seed, plugins: [fc.interruptAfterTimeLimit(timeLimitMs)] }
	);
	if (details.failed) {
		const example = details.counterexample ? describeValue((details.counterexample as unknown as [T])[0]) : '(none)';
		const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
		const message = `${name}: failed after ${details.numRuns} runs (seed ${details.seed}, path "${details.counterexamplePath}", ${details.numShrinks} shrinks)\n  input: ${example}\n  problem: ${cause}`;
		console.log(message);
		throw new Error(message);
	}
	return { runs: details.numRuns };
}
