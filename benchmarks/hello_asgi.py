"""The reference point: a bare ASGI "hello world" on exactly mamori's server stack.

It is served by ``mamori.server.uvicorn_config`` — the same uvicorn configuration mamori runs
under (uvloop, httptools, one process, no access log) — so the only difference from mamori is
the application. It drains the request body and answers a fixed STS ``GetCallerIdentity``
response, which lets boto3 parse it too and keeps the response size close to mamori's.

Run: .venv/bin/python benchmarks/hello_asgi.py --port 4599
"""

from __future__ import annotations

import argparse

import uvicorn

from mamori.config import Settings
from mamori.server import uvicorn_config

BODY = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<GetCallerIdentityResult>"
    b"<Arn>arn:aws:iam::000000000000:root</Arn>"
    b"<UserId>000000000000</UserId>"
    b"<Account>000000000000</Account>"
    b"</GetCallerIdentityResult>"
    b"<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
    b"</ResponseMetadata>"
    b"</GetCallerIdentityResponse>"
)
HEADERS = [
    (b"content-type", b"text/xml"),
    (b"content-length", str(len(BODY)).encode()),
]


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the body, as any real application must
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4599)
    args = parser.parse_args()
    settings = Settings(host=args.host, port=args.port, log_level="warning")
    uvicorn.Server(uvicorn_config(app, settings)).run()


if __name__ == "__main__":
    main()
