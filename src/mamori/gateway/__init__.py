"""The ASGI gateway: routing, SigV4, the request context and the internal endpoints."""
