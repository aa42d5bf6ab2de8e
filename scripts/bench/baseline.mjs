// Reference for side-by-side benchmarks: the two hot paths of RFC 8628 on bare node:http + better-sqlite3,
// as near the limit of Node and SQLite on one core as plain code gets. Run: PORT=4100 DB_PATH=bench.db node baseline.mjs
// better-sqlite3 is loaded from the working directory's node_modules: run it from the project's root.
// "Near the limit" baseline for RFC 8628: bare node:http + better-sqlite3 (WAL).
// Implements only the two hot paths:
//   POST /device_authorization  (form: client_id[, scope]) -> 200 JSON
//   POST /token                 (form: grant_type=urn:ietf:params:oauth:grant-type:device_code,
//                                      device_code, client_id) -> 400 {"error":"authorization_pending"}
// Device codes: 32 random bytes (base64url), stored only as their SHA-256 hash.
// User codes: 8 chars from a 20-letter alphabet (same alphabet idea as oidc-provider's base-20).
// Env: PORT (default 4100), DB_PATH (default ./baseline.db), CLIENT_ID (default bench-device)
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** @type {typeof import('better-sqlite3')} */
const Database = createRequire(join(process.cwd(), 'package.json'))('better-sqlite3');

const PORT = Number(process.env.PORT ?? 4100);
const HOST = '127.0.0.1';
const DB_PATH = process.env.DB_PATH ?? './baseline.db';
const CLIENT_ID = process.env.CLIENT_ID ?? 'bench-device';
const EXPIRES_IN = 600; // seconds
const INTERVAL = 5; // seconds
const ISSUER = `http://${HOST}:${PORT}`;
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const USER_CODE_CHARS = 'BCDFGHJKLMNPQRSTVWXZ'; // 20 chars, no vowels
const MAX_BODY = 16 * 1024;

const db = new Database(DB_PATH);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL'); // WAL + NORMAL: no fsync per commit (crash-safe, not power-loss durable)
db.exec(`
  CREATE TABLE IF NOT EXISTS device_codes (
    device_code_hash BLOB PRIMARY KEY,
    user_code        TEXT NOT NULL UNIQUE,
    client_id        TEXT NOT NULL,
    scope            TEXT,
    status           TEXT NOT NULL DEFAULT 'pending',
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    last_polled_at   INTEGER
  ) WITHOUT ROWID;
`);

const insertStmt = db.prepare(`INSERT INTO device_codes
  (device_code_hash, user_code, client_id, scope, status, created_at, expires_at)
  VALUES (?, ?, ?, ?, 'pending', ?, ?)`);
// One statement does lookup + last_polled_at update (SQLite >= 3.35 RETURNING).
const pollStmt = db.prepare(`UPDATE device_codes SET last_polled_at = ?
  WHERE device_code_hash = ? RETURNING client_id, status, expires_at`);

function userCode() {
	const bytes = randomBytes(8);
	let s = '';
	for (let i = 0; i < 8; i++) s += USER_CODE_CHARS[bytes[i] % 20]; // 256 % 20 != 0: tiny bias, fine here
	return s;
}

/** @param {http.ServerResponse} res @param {number} status @param {object} obj */
function send(res, status, obj) {
	const body = JSON.stringify(obj);
	res.writeHead(status, {
		'content-type': 'application/json; charset=utf-8',
		'content-length': Buffer.byteLength(body),
		'cache-control': 'no-store'
	});
	res.end(body);
}

/**
 * @param {http.IncomingMessage} req
 * @param {(err: Error | null, form?: URLSearchParams) => void} cb called with the form when err is null
 */
function readForm(req, cb) {
	const ct = req.headers['content-type'] ?? '';
	if (!ct.startsWith('application/x-www-form-urlencoded')) {
		req.resume();
		return cb(new Error('content-type must be application/x-www-form-urlencoded'));
	}
	/** @type {Buffer[]} */
	const chunks = [];
	let size = 0;
	req.on('data', (/** @type {Buffer} */ c) => {
		size += c.length;
		if (size > MAX_BODY) {
			req.destroy();
			return;
		}
		chunks.push(c);
	});
	req.on('end', () => cb(null, new URLSearchParams(Buffer.concat(chunks).toString('latin1'))));
	req.on('error', cb);
}

/** @param {URLSearchParams} form @param {http.ServerResponse} res */
function deviceAuthorization(form, res) {
	const clientId = form.get('client_id');
	if (clientId !== CLIENT_ID) return send(res, 401, { error: 'invalid_client' });
	const now = Date.now();
	const deviceCode = randomBytes(32).toString('base64url');
	const hash = createHash('sha256').update(deviceCode).digest();
	for (let attempt = 0; attempt < 5; attempt++) {
		const uc = userCode();
		try {
			insertStmt.run(hash, uc, clientId, form.get('scope'), now, now + EXPIRES_IN * 1000);
		} catch (err) {
			const { code } = /** @type {{ code?: string }} */ (err);
			if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') continue;
			throw err;
		}
		return send(res, 200, {
			device_code: deviceCode,
			user_code: `${uc.slice(0, 4)}-${uc.slice(4)}`,
			verification_uri: `${ISSUER}/device`,
			verification_uri_complete: `${ISSUER}/device?user_code=${uc}`,
			expires_in: EXPIRES_IN,
			interval: INTERVAL
		});
	}
	return send(res, 500, { error: 'server_error' });
}

/** @param {URLSearchParams} form @param {http.ServerResponse} res */
function token(form, res) {
	if (form.get('grant_type') !== DEVICE_GRANT) return send(res, 400, { error: 'unsupported_grant_type' });
	const deviceCode = form.get('device_code');
	const clientId = form.get('client_id');
	if (!deviceCode || !clientId) return send(res, 400, { error: 'invalid_request' });
	if (clientId !== CLIENT_ID) return send(res, 401, { error: 'invalid_client' });
	const now = Date.now();
	const hash = createHash('sha256').update(deviceCode).digest();
	const row = /** @type {{ client_id: string, status: string, expires_at: number } | undefined} */ (pollStmt.get(now, hash));
	if (!row || row.client_id !== clientId) return send(res, 400, { error: 'invalid_grant' });
	if (row.expires_at <= now) return send(res, 400, { error: 'expired_token' });
	if (row.status === 'pending') return send(res, 400, { error: 'authorization_pending' });
	if (row.status === 'denied') return send(res, 400, { error: 'access_denied' });
	// approved: token issuance is out of scope for this baseline (never reached in the benchmark)
	return send(res, 501, { error: 'server_error', error_description: 'token issuance not implemented in baseline' });
}

const server = http.createServer((req, res) => {
	if (req.method !== 'POST') {
		req.resume();
		return send(res, 405, { error: 'invalid_request' });
	}
	const handler = req.url === '/token' ? token : req.url === '/device_authorization' ? deviceAuthorization : null;
	if (!handler) {
		req.resume();
		return send(res, 404, { error: 'not_found' });
	}
	readForm(req, (err, form) => {
		if (err) return send(res, 400, { error: 'invalid_request', error_description: err.message });
		try {
			handler(/** @type {URLSearchParams} */ (form), res);
		} catch (e) {
			console.error(e);
			send(res, 500, { error: 'server_error' });
		}
	});
});

server.listen(PORT, HOST, () => console.log(`READY ${ISSUER} (baseline, sqlite ${DB_PATH}, WAL)`));
const stop = () => {
	server.close();
	server.closeAllConnections();
	db.close();
	process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
