"""Settings, from command-line flags and ``MAMORI_*`` environment variables (flags win)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
DEFAULT_ACCOUNT_ID = "000000000000"
DEFAULT_REGION = "us-east-1"
# Bodies larger than this are refused unless the operation streams its payload.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
# Who writes the journal's group-committed records: a process of its own, or a thread of the
# serving process. None (not set): "process" under ``mamori serve``, "thread" for a Runtime
# built directly (tests, ``mamori env``), so those do not start processes.
JOURNAL_WRITERS = ("process", "thread")


# Python's logging levels, as MAMORI_LOG_LEVEL names them (uvicorn takes the same names).
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
# SQLAlchemy dialects the store runs on (``postgres`` is accepted as PostgreSQL's alias).
DATABASE_SCHEMES = ("postgresql", "postgres", "sqlite")


class SettingError(ValueError):
    """A setting mamori cannot work with, found when it is used (the message names it)."""


def is_account_id(text: str) -> bool:
    """12 ASCII digits (``str.isdigit`` alone would take other scripts' digits too)."""
    return len(text) == 12 and text.isascii() and text.isdigit()


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _bool(value: str) -> bool:
    """A boolean variable; anything unrecognized is refused rather than read as off (a typo
    in MAMORI_JOURNAL must not switch auditing off)."""
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected one of {', '.join(_TRUE + _FALSE)}")


@dataclass
class Settings:
    host: str = field(default=DEFAULT_HOST, metadata={"env": "MAMORI_HOST"})
    port: int = field(default=DEFAULT_PORT, metadata={"env": "MAMORI_PORT"})
    data_dir: Path = field(default=Path(".mamori"), metadata={"env": "MAMORI_DATA_DIR"})
    database_url: str | None = field(default=None, metadata={"env": "MAMORI_DATABASE_URL"})
    master_key: str | None = field(default=None, metadata={"env": "MAMORI_MASTER_KEY"})
    account_id: str = field(default=DEFAULT_ACCOUNT_ID, metadata={"env": "MAMORI_ACCOUNT_ID"})
    region: str = field(default=DEFAULT_REGION, metadata={"env": "MAMORI_DEFAULT_REGION"})
    root_access_key_id: str | None = field(
        default=None, metadata={"env": "MAMORI_ROOT_ACCESS_KEY_ID"}
    )
    root_secret_access_key: str | None = field(
        default=None, metadata={"env": "MAMORI_ROOT_SECRET_ACCESS_KEY"}
    )
    allow_reset: bool = field(default=False, metadata={"env": "MAMORI_ALLOW_RESET"})
    allow_time_travel: bool = field(default=False, metadata={"env": "MAMORI_ALLOW_TIME_TRAVEL"})
    journal: bool = field(default=True, metadata={"env": "MAMORI_JOURNAL"})
    journal_writer: str | None = field(default=None, metadata={"env": "MAMORI_JOURNAL_WRITER"})
    # The CPUs the journal's writer process may run on ("1", "2-3,6"); unset: those of the
    # server (it inherits them).
    journal_writer_cpus: str | None = field(
        default=None, metadata={"env": "MAMORI_JOURNAL_WRITER_CPUS"}
    )
    max_body_bytes: int = field(
        default=DEFAULT_MAX_BODY_BYTES, metadata={"env": "MAMORI_MAX_BODY_BYTES"}
    )
    log_level: str = field(default="info", metadata={"env": "MAMORI_LOG_LEVEL"})
    tls: bool = field(default=False, metadata={"env": "MAMORI_TLS"})
    tls_cert: Path | None = field(default=None, metadata={"env": "MAMORI_TLS_CERT"})
    tls_key: Path | None = field(default=None, metadata={"env": "MAMORI_TLS_KEY"})
    # The reverse proxies whose X-Forwarded-For / X-Forwarded-Proto headers are believed
    # ("10.0.0.5,10.1.0.0/16", or "*"). Unset: none are, as in AWS, where the caller's address
    # and transport are those of its own connection; otherwise any client could claim another
    # address (aws:SourceIp, CloudTrail's sourceIPAddress) or TLS (aws:SecureTransport).
    forwarded_allow_ips: str | None = field(
        default=None, metadata={"env": "MAMORI_FORWARDED_ALLOW_IPS"}
    )

    def __post_init__(self) -> None:
        if not is_account_id(str(self.account_id)):
            raise ValueError(f"MAMORI_ACCOUNT_ID must be 12 digits, not {self.account_id!r}")
        if self.max_body_bytes <= 0:
            raise ValueError(
                f"MAMORI_MAX_BODY_BYTES must be a positive number of bytes, not "
                f"{self.max_body_bytes}"
            )
        if bool(self.root_access_key_id) != bool(self.root_secret_access_key):
            raise ValueError(
                "MAMORI_ROOT_ACCESS_KEY_ID and MAMORI_ROOT_SECRET_ACCESS_KEY go together: "
                "set both, or neither (root keys are then generated)"
            )
        level = str(self.log_level).strip().lower()
        if level not in LOG_LEVELS:
            raise ValueError(
                f"MAMORI_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}"
            )
        self.log_level = level
        if self.database_url is not None:
            check_database_url(self.database_url)
        if self.master_key is not None and self.master_key.strip():
            from mamori.store.seal import parse_master_key  # (its message names the variable)

            parse_master_key(self.master_key)
        if self.journal_writer is not None:
            writer = str(self.journal_writer).strip().lower()
            if writer not in JOURNAL_WRITERS:
                raise ValueError(
                    f"MAMORI_JOURNAL_WRITER must be one of {', '.join(JOURNAL_WRITERS)}, "
                    f"not {self.journal_writer!r}"
                )
            self.journal_writer = writer
        if self.journal_writer_cpus is not None:
            parse_cpu_list(self.journal_writer_cpus)  # refuse a bad list at startup
        if self.forwarded_allow_ips is not None:
            self.forwarded_allow_ips = ",".join(parse_proxy_list(self.forwarded_allow_ips))

    @property
    def writer_cpus(self) -> frozenset[int] | None:
        """MAMORI_JOURNAL_WRITER_CPUS as a set of CPU numbers (None when not set)."""
        if self.journal_writer_cpus is None:
            return None
        return parse_cpu_list(self.journal_writer_cpus)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then ``MAMORI_*`` variables, then explicit overrides (None = not given)."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, object] = {}
        for f in fields(cls):
            variable = f.metadata["env"]
            raw = environ.get(variable)
            if raw is not None and raw != "":
                try:
                    values[f.name] = _coerce(f.type, raw)
                except ValueError as exc:
                    raise ValueError(f"{variable}={raw!r}: {exc}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        settings.data_dir = Path(settings.data_dir)
        return settings

    @property
    def endpoint_url(self) -> str:
        """Where a client on this machine reaches the server. A server listening on every
        IPv6 address (``::``) takes IPv6 connections only (asyncio binds it IPv6-only), so its
        clients go to ``[::1]``; IPv6 literals are bracketed, as URLs write them."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if self.tls_enabled else "http"
        return f"{scheme}://{host}:{self.port}"

    @property
    def tls_enabled(self) -> bool:
        return self.tls or self.tls_cert is not None


def check_database_url(url: str) -> None:
    """Refuse a MAMORI_DATABASE_URL for a database the store does not run on. The URL is not
    repeated in the message: it may hold a password."""
    scheme, separator, _ = str(url).partition("://")
    dialect = scheme.partition("+")[0].lower()
    if not separator or dialect not in DATABASE_SCHEMES:
        raise ValueError(
            "MAMORI_DATABASE_URL must be a PostgreSQL URL such as "
            "postgresql+psycopg://user@host/db (or leave it unset for SQLite)"
        )


def parse_cpu_list(text: str) -> frozenset[int]:
    """A CPU list as ``taskset -c`` and Linux's cpusets write it: ``0``, ``1-3``, ``0,2-3``."""
    cpus: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        first, dash, last = part.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(
                f"MAMORI_JOURNAL_WRITER_CPUS must be a CPU list such as 1 or 1-3,5, not {text!r}"
            )
        low, high = int(first), int(last) if dash else int(first)
        if high < low:
            raise ValueError(f"MAMORI_JOURNAL_WRITER_CPUS: the range {part} runs backwards")
        cpus.update(range(low, high + 1))
    return frozenset(cpus)


def parse_proxy_list(text: str) -> list[str]:
    """MAMORI_FORWARDED_ALLOW_IPS as a list of addresses and networks (or ``["*"]``)."""
    entries = [part.strip() for part in str(text).split(",") if part.strip()]
    if not entries:
        raise ValueError("MAMORI_FORWARDED_ALLOW_IPS is empty: leave it unset to trust no proxy")
    if entries == ["*"]:
        return entries
    try:
        # in the canonical form uvicorn parses (10.0.0.5/8 -> 10.0.0.0/8: it would take a
        # network with host bits set for a name and never match it)
        return [
            str(ipaddress.ip_network(entry, strict=False))
            if "/" in entry
            else str(ipaddress.ip_address(entry))
            for entry in entries
        ]
    except ValueError:
        raise ValueError(
            "MAMORI_FORWARDED_ALLOW_IPS must list IP addresses or networks "
            f"(10.0.0.5,10.1.0.0/16) or be *, not {text!r}"
        ) from None


def _coerce(type_name: object, raw: str) -> object:
    name = str(type_name)
    if name.startswith("bool"):
        return _bool(raw)
    if name.startswith("int"):
        return int(raw)
    if "Path" in name:
        return Path(raw)
    return raw
