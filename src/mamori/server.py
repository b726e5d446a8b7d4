"""Running the gateway under uvicorn (uvloop + httptools)."""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
from collections.abc import Generator
from pathlib import Path

import uvicorn

from mamori.config import Settings
from mamori.gateway.app import Gateway
from mamori.runtime import Runtime
from mamori.tls import ensure_self_signed


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, so the process would end
    "killed by signal". For mamori a requested stop, once everything is flushed, is a clean
    exit: status 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def tls_files(settings: Settings) -> tuple[Path, Path] | None:
    """The certificate and key to serve HTTPS with, generating a self-signed pair if asked."""
    if settings.tls_cert is not None:
        if settings.tls_key is None:
            raise SystemExit("--tls-cert needs --tls-key")
        return Path(settings.tls_cert), Path(settings.tls_key)
    if settings.tls:
        return ensure_self_signed(Path(settings.data_dir) / "tls", [settings.host])
    return None


def uvicorn_config(app, settings: Settings) -> uvicorn.Config:
    tls = tls_files(settings)
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level=settings.log_level.lower(),
        timeout_keep_alive=30,
        # X-Forwarded-* only from the proxies named: uvicorn's default believes any client on
        # 127.0.0.1, which could then claim another source IP or TLS.
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        ssl_certfile=str(tls[0]) if tls else None,
        ssl_keyfile=str(tls[1]) if tls else None,
    )


def serve(settings: Settings, announce=print) -> None:
    if settings.journal_writer is None:  # serving: the journal's writer runs in its own process
        settings = dataclasses.replace(settings, journal_writer="process")
    runtime = Runtime(settings)
    gateway = Gateway(runtime)
    store = (
        "PostgreSQL" if runtime.store.dialect == "postgresql" else f"SQLite in {settings.data_dir}"
    )
    announce(f"mamori listening on {settings.endpoint_url} ({store})")
    announce(
        f"  account {settings.account_id}; for root credentials run: "
        f'eval "$(mamori env --data-dir {settings.data_dir})"'
    )
    config = uvicorn_config(gateway, settings)
    if config.ssl_certfile:
        announce(f"  TLS: export AWS_CA_BUNDLE={config.ssl_certfile}")
    _Server(config).run()
