# An API in Python that accepts doorcode's JWT access tokens (RFC 9068) with the JWK Set alone.
# Usage: python3 verify_access_token.py <issuer> <audience> <token>   (prints the claims, or exits 1)
# Needs PyJWT with its crypto extra (Debian: apt-get install python3-jwt).
import json
import sys

import jwt

issuer, audience, token = sys.argv[1:4]
# Fetched and cached; a token naming an unknown key makes it fetch the set again (rotation).
jwks = jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json")

try:
    key = jwks.get_signing_key_from_jwt(token)
    if jwt.get_unverified_header(token).get("typ") != "at+jwt":
        raise jwt.InvalidTokenError("not an RFC 9068 access token")
    claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=issuer, audience=audience)
    print(json.dumps({"sub": claims["sub"], "scope": claims["scope"], "client_id": claims["client_id"]}, separators=(",", ":")))
except jwt.PyJWTError as error:
    print(f"refused: {error}", file=sys.stderr)
    sys.exit(1)
