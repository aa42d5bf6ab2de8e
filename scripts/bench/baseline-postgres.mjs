// The bare baseline on PostgreSQL: the two hot paths of RFC 8628 on plain node:http + pg,
// running the same statements doorcode runs (a prepared INSERT; the poll as one UPDATE …
// RETURNING on the device code's hash), on doorcode's own schema, with PostgreSQL's
// defaults (every commit waits for the WAL flush). Nothing else: no limits, no logs.
//   PORT=4100 DATABASE_URL=postgres://… CLIENT_ID=demo-cli node scripts/bench/baseline-postgres.mjs
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** @type {typeof import('pg')} */
const pg = createRequire(join(process.cwd(), 'package.json'))('pg');
pg.types.setTypeParser(pg.types.builtins.INT8, Number);

const PORT = Number(process.env.PORT ?? 4100);
const CLIENT_ID = process.env.CLIENT_ID ?? 'demo-cli';
const EXPIRES_IN = 600;
const INTERVAL = 5;
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const USER_CODE_CHARS = 'BCDFGHJKLMNPQRSTVWXZ';
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE ?? 10) });

const INSERT = `INSERT INTO device_authorizations
	(device_code_hash, user_code, client_id, scope, created_at, expires_at, interval_seconds, requester_ip, requester_user_agent)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (user_code) DO NOTHING RETURNING id`;
const TOO_SOON = '(last_polled_at IS NOT NULL AND $3 < last_polled_at + interval_seconds::bigint * 1000)';
const POLL = `UPDATE device_authorizations SET
	last_poll_outcome = CASE WHEN status = 'consumed' THEN 'replayed' WHEN ${TOO_SOON} THEN 'slow_down' WHEN status = 'denied' THEN 'denied'
		WHEN expires_at <= $3 THEN 'expired' WHEN status = 'approved' THEN 'issue' ELSE 'pending' END,
	interval_seconds = interval_seconds + CASE WHEN status <> 'consumed' AND ${TOO_SOON} THEN 5 ELSE 0 END,
	last_polled_at = CASE WHEN status <> 'consumed' AND ${TOO_SOON} THEN last_polled_at ELSE $3 END
	WHERE device_code_hash = $1 AND client_id = $2
	RETURNING id, last_poll_outcome, last_polled_at, interval_seconds, entered_at, denial_reason, grant_id`;

/** @param {http.ServerResponse} res @param {number} status @param {object} body */
function send(res, status, body) {
	const text = JSON.stringify(body);
	res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
	res.end(text);
}

function userCode() {
	const bytes = randomBytes(8);
	let code = '';
	for (const byte of bytes) code += USER_CODE_CHARS[byte % 20];
	return code;
}

/** @param {URLSearchParams} form @param {http.ServerResponse} res */
async function deviceAuthorization(form, res) {
	if (form.get('client_id') !== CLIENT_ID) return send(res, 401, { error: 'invalid_client' });
	const now = Date.now();
	const deviceCode = randomBytes(32).toString('base64url');
	const hash = createHash('sha256').update(deviceCode).digest();
	for (let attempt = 0; attempt < 5; attempt++) {
		const code = userCode();
		const { rows } = await pool.query({
			name: 'insert',
			text: INSERT,
			values: [hash, code, CLIENT_ID, form.get('scope') ?? '', now, now + EXPIRES_IN * 1000, INTERVAL, '127.0.0.1', null]
		});
		if (rows.length === 0) continue;
		return send(res, 200, {
			device_code: deviceCode,
			user_code: `${code.slice(0, 4)}-${code.slice(4)}`,
			verification_uri: `http://127.0.0.1:${PORT}/device`,
			expires_in: EXPIRES_IN,
			interval: INTERVAL
		});
	}
	return send(res, 500, { error: 'server_error' });
}

/** @param {URLSearchParams} form @param {http.ServerResponse} res */
async function token(form, res) {
	if (form.get('grant_type') !== DEVICE_GRANT) return send(res, 400, { error: 'unsupported_grant_type' });
	const deviceCode = form.get('device_code');
	if (!deviceCode || form.get('client_id') !== CLIENT_ID) return send(res, 400, { error: 'invalid_request' });
	const hash = createHash('sha256').update(deviceCode).digest();
	const { rows } = await pool.query({ name: 'poll', text: POLL, values: [hash, CLIENT_ID, Date.now()] });
	if (rows.length === 0) return send(res, 400, { error: 'invalid_grant' });
	const outcome = rows[0].last_poll_outcome;
	if (outcome === 'pending') return send(res, 400, { error: 'authorization_pending' });
	if (outcome === 'slow_down') return send(res, 400, { error: 'slow_down' });
	return send(res, 400, { error: outcome === 'expired' ? 'expired_token' : 'invalid_grant' });
}

const server = http.createServer((req, res) => {
	const handler = req.method !== 'POST' ? null : req.url === '/token' ? token : req.url === '/device_authorization' ? deviceAuthorization : null;
	/** @type {Buffer[]} */
	const chunks = [];
	req.on('data', (/** @type {Buffer} */ chunk) => chunks.push(chunk));
	req.on('end', () => {
		if (!handler) return send(res, 404, { error: 'not_found' });
		handler(new URLSearchParams(Buffer.concat(chunks).toString('latin1')), res).catch(() => send(res, 500, { error: 'server_error' }));
	});
});
server.listen(PORT, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
