import { invalidRequest, payloadTooLarge, type OAuthError } from './errors';

/** OAuth request bodies are small; anything larger is refused before it is parsed. */
export const MAX_OAUTH_BODY_BYTES = 16 * 1024;

export type Params = ReadonlyMap<string, string>;
export type ParamsResult = { ok: true; params: Params } | { ok: false; error: OAuthError };
export type JsonObjectResult = { ok: true; object: Record<string, unknown> } | { ok: false; error: OAuthError };

/**
 * Reads an OAuth request body: application/x-www-form-urlencoded (RFC 8628 §3.1) or
 * application/json with string values only. RFC 6749 §3.1: a parameter sent twice is refused.
 */
export async function readParams(request: Request, limit = MAX_OAUTH_BODY_BYTES): Promise<ParamsResult> {
	const body = await readBody(request, limit);
	return body.ok ? parseParams(body.bytes, request.headers.get('content-type')) : body;
}

/**
 * RFC 7591 §3.1: a JSON object whose members may be any JSON (arrays of redirect URIs, …),
 * unlike the string-valued parameters of every other request.
 */
export async function readJsonObject(request: Request, limit = MAX_OAUTH_BODY_BYTES): Promise<JsonObjectResult> {
	const body = await readBody(request, limit);
	if (!body.ok) return body;
	const type = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
	if (type !== 'application/json') return { ok: false, error: invalidRequest('Send the client metadata as application/json.') };
	let value: unknown;
	try {
		value = JSON.parse(decoder.decode(body.bytes));
	} catch {
		return { ok: false, error: invalidRequest('The request body is not valid JSON.') };
	}
	if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: invalidRequest('The JSON body must be an object.') };
	return { ok: true, object: value as Record<string, unknown> };
}

/** The whole body within `limit`, or the error to answer. */
async function readBody(request: Request, limit: number): Promise<{ ok: true; bytes: Uint8Array } | { ok: false; error: OAuthError }> {
	const declared = Number(request.headers.get('content-length') ?? '0');
	if (declared > limit) return { ok: false, error: payloadTooLarge(limit) };
	try {
		const read = await readLimited(request, limit);
		return read === 'too-large' ? { ok: false, error: payloadTooLarge(limit) } : { ok: true, bytes: read };
	} catch (error) {
		// adapter-node errors the body stream with a 413 once it passes BODY_SIZE_LIMIT.
		if ((error as { status?: unknown }).status === 413) return { ok: false, error: payloadTooLarge(limit) };
		return { ok: false, error: invalidRequest('The request body could not be read.') };
	}
}

/** Parses a body already read (within the limit) by its Content-Type. */
export function parseParams(bytes: Uint8Array, contentType: string | null | undefined): ParamsResult {
	const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
	if (bytes.length === 0 && type === '') return { ok: true, params: new Map() };
	let text: string;
	try {
		text = decoder.decode(bytes);
	} catch {
		return { ok: false, error: invalidRequest('The request body is not valid UTF-8.') };
	}
	if (type === 'application/x-www-form-urlencoded') return fromPairs(new URLSearchParams(text));
	if (type === 'application/json') return fromJson(text);
	return {
		ok: false,
		error: invalidRequest('Send the parameters as application/x-www-form-urlencoded or application/json.')
	};
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function fromPairs(pairs: Iterable<[string, string]>): ParamsResult {
	const params = new Map<string, string>();
	for (const [name, value] of pairs) {
		if (params.has(name)) return { ok: false, error: invalidRequest(`The parameter ${printable(name)} was sent more than once.`) };
		params.set(name, value);
	}
	return { ok: true, params };
}

function fromJson(text: string): ParamsResult {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		return { ok: false, error: invalidRequest('The request body is not valid JSON.') };
	}
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		return { ok: false, error: invalidRequest('The JSON body must be an object of parameters.') };
	}
	const pairs: [string, string][] = [];
	for (const [name, field] of Object.entries(value)) {
		// Every OAuth parameter is a string (RFC 6749 appendix A); a number is the sender's mistake.
		if (typeof field === 'string') pairs.push([name, field]);
		else return { ok: false, error: invalidRequest(`The parameter ${printable(name)} must be a string.`) };
	}
	return fromPairs(pairs);
}

async function readLimited(request: Request, limit: number): Promise<Uint8Array | 'too-large'> {
	if (!request.body) return new Uint8Array();
	const chunks: Uint8Array[] = [];
	let size = 0;
	const reader = request.body.getReader();
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		size += value.byteLength;
		if (size > limit) {
			// Not cancel(): that destroys the socket before the 413 is sent. Letting go of
			// the stream lets adapter-node discard the rest of the body after the answer.
			reader.releaseLock();
			return 'too-large';
		}
		chunks.push(value);
	}
	return Buffer.concat(chunks);
}

/** Parameter names come from the client: quote them without control characters or markup. */
function printable(name: string): string {
	return JSON.stringify(name.replace(/[^\x20-\x7E]/g, '?').slice(0, 40));
}
