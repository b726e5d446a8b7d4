"""A local OpenID Connect issuer for tests: discovery document + JWKS over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


class LocalIssuer:
    def __init__(self, path: str = "") -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.path = path
        self.requests = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                issuer.requests += 1
                base = issuer.path
                if self.path == f"{base}/.well-known/openid-configuration":
                    body = {
                        "issuer": issuer.url,
                        "jwks_uri": f"{issuer.url}/keys",
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }
                elif self.path == f"{base}/keys":
                    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(issuer.key.public_key()))
                    jwk.update(kid=issuer.kid, use="sig", alg="RS256")
                    body = {"keys": [jwk]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"

    @property
    def provider_url(self) -> str:
        """The issuer as IAM's provider Url (no scheme)."""
        return self.url.split("://", 1)[1]

    def token(
        self, *, key=None, now: float | None = None, lifetime: int = 600, **claims: Any
    ) -> str:
        issued = int(now if now is not None else time.time())
        payload = {
            "iss": self.url,
            "sub": "user-123",
            "aud": "my-client",
            "iat": issued,
            "nbf": issued,
            "exp": issued + lifetime,
        }
        payload.update(claims)
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": self.kid})

    def foreign_key(self):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
