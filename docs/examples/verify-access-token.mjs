// An API in Node that accepts doorcode's JWT access tokens (RFC 9068) with the JWK Set alone.
// Usage: node verify-access-token.mjs <issuer> <audience> <token>   (prints the claims, or exits 1)
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [issuer, audience, token] = process.argv.slice(2);
// Fetched once and cached; refetched when a token names a key it has not seen (rotation).
const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));

try {
	const { payload } = await jwtVerify(token, jwks, { issuer, audience, typ: 'at+jwt', algorithms: ['RS256'] });
	console.log(JSON.stringify({ sub: payload.sub, scope: payload.scope, client_id: payload.client_id }));
} catch (error) {
	console.error(`refused: ${error.code ?? error.message}`);
	process.exit(1);
}
