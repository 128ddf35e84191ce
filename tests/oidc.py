"""A small OpenID Connect provider on a real HTTP server, for the console's OIDC login tests:
discovery, an authorization endpoint that signs in `claims` at once (as a provider does after
its own login page), a token endpoint that checks the client and the code, and its signing
key. ID tokens are RS256 JWTs made with joserfc (Authlib's JOSE library)."""

import base64
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey


class Provider:
    def __init__(self, client_id: str, client_secret: str, claims: dict[str, Any]):
        self.client_id, self.client_secret = client_id, client_secret
        self.claims = claims  # who signs in
        self.audience = client_id  # whom ID tokens are for (a test may sign for another)
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.codes: dict[str, tuple[str | None, str]] = {}  # code -> (nonce, redirect_uri)
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    self._json(provider.metadata())
                elif url.path == "/jwks":
                    self._json({"keys": [provider.key.as_dict(private=False)]})
                elif url.path == "/authorize" and query.get("client_id") == provider.client_id:
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = (query.get("nonce"), query["redirect_uri"])
                    back = query["redirect_uri"] + "?" + urllib.parse.urlencode(
                        {"code": code, "state": query.get("state", "")})
                    self.send_response(302)
                    self.send_header("Location", back)
                    self.end_headers()
                else:
                    self._json({"error": "invalid_request"}, 400)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                basic = self.headers.get("Authorization", "").removeprefix("Basic ")
                client = base64.b64decode(basic).decode() if basic else ""
                if client != f"{provider.client_id}:{provider.client_secret}":
                    self._json({"error": "invalid_client"}, 401)
                    return
                nonce, redirect_uri = provider.codes.pop(form.get("code", ""), (None, ""))
                if not redirect_uri or form.get("redirect_uri") != redirect_uri:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                self._json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                            "expires_in": 300, "id_token": provider.id_token(nonce)})

            def _json(self, body: dict[str, Any], status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def metadata(self) -> dict[str, Any]:
        return {"issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token", "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"]}

    def id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        payload = {"iss": self.url, "aud": self.audience, "iat": now, "exp": now + 300,
                   "sub": self.claims.get("sub", "subject"), **self.claims}
        if nonce:
            payload["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, payload, self.key)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
